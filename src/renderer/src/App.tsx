import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { flushSync } from 'react-dom'
import { redo, undo } from '@codemirror/commands'
import { openSearchPanel } from '@codemirror/search'
import { X } from 'lucide-react'
import {
  sameDocStatus,
  type ApiResult,
  type AuthorInfo,
  type DocRole,
  type DocStatus,
  type EditorCommand,
  type OpenedDoc,
  type PresenceInfo,
  type PropEntry,
  type RestoreNotice as RestoreNoticeInfo,
} from '../../shared/api'
import { openTargetHash, parseOpenTarget, type OpenTarget } from '../../shared/open-target'
import { docTitle } from '../../shared/doc-title'
import { decodeTextBatchReplicas } from '../../shared/crdt/text-codec'
import { getApi, hasNode, isBrowserMode } from './bridge'
import { freeze } from './binding/sync'
import { awayRanges, clearAway } from './collab/away'
import { PresenceSync } from './collab/presence-sync'
import { restoreText } from './collab/restore'
import { DocBar, type PanelName } from './DocBar'
import { CursorStore } from './cursor-store'
import { DocEvents } from './doc-events'
import { Editor, type EditorHandle } from './Editor'
import { HistoryPanel, type HistoryPreview, type RestoreRequest } from './HistoryPanel'
import { JoinRequests } from './panels/JoinRequests'
import { LanguagePicker } from './LanguagePicker'
import { NearbyPanel } from './panels/NearbyPanel'
import { PropertiesPanel } from './panels/PropertiesPanel'
import { SaveDialog } from './SaveDialog'
import { SettingsPanel } from './panels/SettingsPanel'
import { SharePanel } from './panels/SharePanel'
import { Preview } from './Preview'
import { RestoreNotice } from './RestoreNotice'
import { StartScreen } from './StartScreen'
import { StatusBar } from './StatusBar'
import { Toolbar } from './Toolbar'
import { useApiEvent } from './use-api-event'
import { FileTabs, panelId, tabId } from './project/FileTabs'
import { ProjectTree } from './project/ProjectTree'
import { JoinProjectDialog } from './project/FolderDialogs'
import { QuickOpen } from './project/QuickOpen'
import { nameOf } from './project/tree-rows'
import { useProject, type TabDoc } from './project/use-project'

/**
 * The names of who wrote the text in `ranges` (sorted, non-overlapping), from the replica's runs. An
 * author whose record has not arrived yet is left out: the list is made again when it comes.
 */
function authorsIn(
  h: EditorHandle,
  ranges: readonly { from: number; to: number }[],
  authors: Readonly<Record<string, AuthorInfo>>,
): string[] {
  const names = new Set<string>()
  let at = 0
  let i = 0
  for (const run of h.replica.authorRuns()) {
    const from = at
    const to = (at += run.length)
    while (i < ranges.length && ranges[i]!.to <= from) i++
    if (i === ranges.length) break
    const name = authors[run.replica]?.name
    if (ranges[i]!.from < to && name) names.add(name)
  }
  return [...names].sort()
}

/** Whether two presence lists show the same people bar (who, named how, in which colour). */
const samePeople = (a: readonly PresenceInfo[], b: readonly PresenceInfo[]): boolean =>
  a.length === b.length &&
  a.every((p, i) => p.device === b[i]!.device && p.name === b[i]!.name && p.color === b[i]!.color)

/**
 * One window, one document (the Electron shell opens a window per document; a browser tab is the
 * same), or one project: its tree beside the editor, its open files as tabs over it, the editor
 * showing one (docs/ARCHITECTURE.md, "Shared folders: the window"). Before it has either the window
 * shows the start screen; with no node behind it (the bare renderer) a scratch editor.
 */
export function App(): React.JSX.Element {
  const api = getApi()
  const withNode = hasNode()
  const browserMode = isBrowserMode()
  const [host, setHost] = useState('…')
  const [cursor] = useState(() => new CursorStore())
  const [opened, setOpened] = useState<OpenedDoc | null>(null)
  const [status, setStatus] = useState<DocStatus | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [editor, setEditor] = useState<EditorHandle | null>(null)
  const [panel, setPanel] = useState<PanelName | null>(null)
  const panelRef = useRef<PanelName | null>(null)
  const [people, setPeople] = useState<readonly PresenceInfo[]>([])
  const [following, setFollowing] = useState<string | null>(null)
  const [showAuthors, setShowAuthors] = useState(false)
  const [authors, setAuthors] = useState<Readonly<Record<string, AuthorInfo>>>({})
  /** The open document's properties; null until they are loaded. */
  const [props, setProps] = useState<readonly PropEntry[] | null>(null)
  const [role, setRole] = useState<DocRole | null>(null)
  const [preview, setPreview] = useState<HistoryPreview | null>(null)
  const [revision, setRevision] = useState(0)
  /** "While you were away": the highlighted stretches, while there are any. */
  const [away, setAway] = useState<readonly { from: number; to: number }[] | null>(null)
  /** Someone's restore removed this person's text: the notice, until dismissed. */
  const [restored, setRestored] = useState<RestoreNoticeInfo | null>(null)
  /** History opened from that notice: it starts at the version before that person's restore. */
  const [historyFrom, setHistoryFrom] = useState<{ device: string; n: number } | null>(null)
  const [invite, setInvite] = useState<string | undefined>(undefined)
  /** A shared folder's invite pasted in Nearby: the Open a project dialog, with it. */
  const [projectInvite, setProjectInvite] = useState<string | null>(null)
  /** Browser mode's Save As dialog, open with the path it starts from. */
  const [saveDialog, setSaveDialog] = useState<{ initialPath: string } | null>(null)
  const presence = useRef<PresenceSync | null>(null)
  const project = useProject(api)
  const {
    enter: enterProject,
    leave: leaveProjectState,
    showTab,
    closeTab: closeProjectTab,
    docOf: tabDocOf,
    tabOf,
    keepDoc: keepTabDoc,
    dropDoc: dropTabDoc,
    activeTab,
  } = project
  const [quickOpen, setQuickOpen] = useState(false)
  const projectId = project.info?.projectId ?? null
  /** The project shown, for callbacks (set where it changes: openProject, leaveProject). */
  const projectIdRef = useRef<string | null>(null)
  const editorRef = useRef<EditorHandle | null>(null)
  /** The project's tabs' documents as of the last render, for callbacks. */
  const tabDocsRef = useRef(project.tabDocs)
  useEffect(() => {
    tabDocsRef.current = project.tabDocs
  }, [project.tabDocs])
  // The latest state for event handlers and commands, which outlive a render.
  const openedRef = useRef<OpenedDoc | null>(null)
  const statusRef = useRef<DocStatus | null>(null)
  const authorsRef = useRef(authors)
  /** Replicas of the open document the window asked the node to name (see the 'ops' event below). */
  const askedAuthors = useRef<{ docId: string | null; replicas: Set<string> }>({
    docId: null,
    replicas: new Set(),
  })
  useEffect(() => {
    openedRef.current = opened
    statusRef.current = status
    authorsRef.current = authors
    panelRef.current = panel
  }, [opened, status, authors, panel])
  const docId = opened?.docId ?? null

  useEffect(() => {
    let live = true
    void api.appInfo().then((result) => {
      if (live) setHost(result.ok ? `${result.value.host} ${result.value.version}` : result.message)
    })
    return () => {
      live = false
    }
  }, [api])

  // One router of the node's events for the window's life; it subscribes in an effect (StrictMode-safe).
  const [events] = useState(() => new DocEvents(api))

  const show = useCallback(<T,>(result: ApiResult<T>): T | null => {
    if (result.ok) return result.value
    setMessage(result.message)
    return null
  }, [])

  /**
   * The open document's latest status (from an event or a reply; the node sends each change once).
   * Identical ones come often (one per keystroke): keeping the old object skips a render.
   */
  const showStatus = useCallback((s: DocStatus): void => {
    if (s.docId !== openedRef.current?.docId) return
    setStatus((prev) => (prev && sameDocStatus(prev, s) ? prev : s))
  }, [])

  /** The window stops hearing about a document (its editor, if any, is gone or going). */
  const letGo = useCallback(
    (docId: string): void => {
      events.forget(docId)
      void api.closeDocument(docId)
    },
    [api, events],
  )

  /** Shows an open document in the editor: the window's one, or one of its project's tabs. */
  const showDoc = useCallback(
    (doc: OpenedDoc): void => {
      // The document shown before stops sending its events here, unless a tab keeps it open.
      const previous = openedRef.current
      if (previous && previous.docId !== doc.docId && tabOf(previous.docId) === undefined)
        letGo(previous.docId)
      // At once, not after the render: the status events that follow the reply are about this document.
      openedRef.current = doc
      setMessage(null)
      setOpened(doc)
      setStatus(doc.status)
      setRole(doc.role)
      setPreview(null)
      setAway(null)
      setRestored(null)
      setHistoryFrom(null)
      setProps(null)
      // The open document (or project) is in the URL, so a reload (or a bookmark) opens it again.
      const pid = projectIdRef.current
      const target: OpenTarget = pid ? { kind: 'project', projectId: pid } : { kind: 'doc', docId: doc.docId }
      window.history.replaceState(null, '', openTargetHash(target))
    },
    [letGo, tabOf],
  )

  /**
   * Opens a document and shows it; `tab`: in that tab of the project, which keeps it open (the tab may
   * have been closed, or another shown, by the time the reply comes).
   */
  const open = useCallback(
    async (request: Promise<ApiResult<OpenedDoc>>, tab?: string): Promise<void> => {
      const doc = show(await request)
      if (!doc) return
      events.expect(doc.docId)
      if (tab !== undefined) {
        if (!keepTabDoc(tab, doc)) return letGo(doc.docId)
        if (activeTab() !== tab) return // its editor is made, hidden, for when the tab is shown
      }
      // Rendered, and its editor made (Editor's effect), in this task: a render left to React's
      // scheduler gets a frame painted before its effects run, with the editor's place empty, and
      // the text waits for the next one (~10–20 ms for a 10 MB file on a 2-core machine).
      flushSync(() => showDoc(doc))
    },
    [show, events, keepTabDoc, letGo, activeTab, showDoc],
  )

  /** Back to the document list: the window stops showing (and hearing about) its document. */
  const closeDocument = useCallback((): void => {
    const doc = openedRef.current
    if (!doc) return
    letGo(doc.docId)
    openedRef.current = null
    setOpened(null)
    setStatus(null)
    setRole(null)
    setPreview(null)
    setAway(null)
    setRestored(null)
    setHistoryFrom(null)
    setPeople([])
    setFollowing(null)
    setSaveDialog(null)
    setProps(null)
    setPanel((p) =>
      p === 'nearby' || p === 'settings' || (p === 'share' && projectIdRef.current) ? p : null,
    )
    const { pathname, search } = window.location
    const pid = projectIdRef.current
    window.history.replaceState(
      null,
      '',
      pathname + search + (pid ? openTargetHash({ kind: 'project', projectId: pid }) : ''),
    )
  }, [letGo])

  /** Opens a project in this window: its tree, no file yet (a document shown goes). */
  const openProject = useCallback(
    async (id: string): Promise<void> => {
      closeDocument()
      const info = show(await api.openProject(id))
      if (!info) return
      projectIdRef.current = info.projectId
      enterProject(info)
      setMessage(null)
      window.history.replaceState(null, '', openTargetHash({ kind: 'project', projectId: info.projectId }))
    },
    [api, show, closeDocument, enterProject],
  )

  /**
   * Shows a file of the project: its tab (added if new) and its editor, the one the tab kept (with its
   * undo history) or a new one on the file opened now.
   */
  const openProjectFile = useCallback(
    (node: string): void => {
      const pid = projectIdRef.current
      if (!pid) return
      showTab(node)
      const kept = tabDocOf(node)
      if (!kept) return void open(api.openProjectFile(pid, node), node)
      showDoc(kept)
      // Its status moved on while it was hidden (status events are heard for the shown one only).
      void api.status(kept.docId).then((r) => r.ok && showStatus(r.value))
    },
    [api, open, showTab, tabDocOf, showDoc, showStatus],
  )

  /** Closes a file's tab (and its document); the editor goes to the next one, or shows none. */
  const closeTab = useCallback(
    (node: string): void => {
      const kept = tabDocOf(node)
      const next = closeProjectTab(node)
      if (next === undefined) {
        // Not the shown one: its hidden editor goes.
        if (kept && kept.docId !== openedRef.current?.docId) letGo(kept.docId)
        return
      }
      if (next === null) closeDocument()
      else openProjectFile(next)
    },
    [tabDocOf, closeProjectTab, closeDocument, openProjectFile, letGo],
  )

  /** Back to the start screen from a project. */
  const leaveProject = useCallback((): void => {
    const pid = projectIdRef.current
    projectIdRef.current = null
    for (const { doc } of tabDocsRef.current) if (doc.docId !== openedRef.current?.docId) letGo(doc.docId)
    closeDocument()
    leaveProjectState()
    setQuickOpen(false)
    if (pid) void api.closeProject(pid)
  }, [api, closeDocument, leaveProjectState, letGo])

  const openTarget = useCallback(
    (target: OpenTarget): void => {
      switch (target.kind) {
        case 'new':
          return void open(api.newDocument(target.title))
        case 'file':
          return void open(api.openFile(target.path))
        case 'doc':
          return void open(api.openDocument(target.docId))
        case 'project':
          return void openProject(target.projectId)
        case 'invite':
          // The Nearby panel joins with it: the link is ready in its Join box, one click away.
          setInvite(target.link)
          setPanel('nearby')
      }
    },
    [api, open, openProject],
  )

  /**
   * Opens the window's document again: its replica no longer follows the node's text (the node rebuilt
   * it, or holds it in another order: binding/order-check.ts), and a fresh one from the node's state does.
   */
  const reopen = useCallback(
    (docId: string): void => {
      const tab = tabOf(docId)
      if (openedRef.current?.docId !== docId) {
        // A hidden tab's editor: it goes, and showing the tab again opens the file afresh.
        if (tab !== undefined) {
          dropTabDoc(tab)
          letGo(docId)
        }
        return
      }
      // No more ops to the old replica (a 'reset' has done this already): those applied before the
      // reply are in its state, and those after it are kept for the new editor (DocEvents.expect).
      events.forget(docId)
      // And none from it: what it pushed after the state was taken would never reach the new editor.
      const old = editorRef.current
      if (old?.docId === docId) freeze(old.view)
      // A project's file opens in its tab again (named by the tree, its language from its name).
      const pid = projectIdRef.current
      if (pid && tab !== undefined) void open(api.openProjectFile(pid, tab), tab)
      else void open(api.openDocument(docId))
    },
    [api, open, events, tabOf, dropTabDoc, letGo],
  )

  const runCommand = useCallback((command: EditorCommand): void => {
    if (command === 'share') return setPanel('share')
    if (command === 'open-project') return setProjectInvite('')
    const v = editorRef.current?.view
    if (!v) return
    if (command === 'undo') undo(v)
    else if (command === 'redo') redo(v)
    else openSearchPanel(v)
    v.focus()
  }, [])

  useEffect(
    () =>
      events.listen({
        status: showStatus,
        error: setMessage,
        command: runCommand,
        open: openTarget,
        reset: reopen,
      }),
    [events, runCommand, openTarget, showStatus, reopen],
  )

  // What the window was opened for (the shell, or a bookmarked browser-mode URL, puts it in the fragment).
  useEffect(() => {
    if (!withNode) return
    const target = parseOpenTarget(window.location.hash)
    if (target) void Promise.resolve(target).then(openTarget)
    // Once per window: the fragment names what the window was opened for, not later navigation.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  // The open document's properties (its title and language among them).
  useEffect(() => {
    if (!docId) return
    let live = true
    void api.props(docId).then((r) => live && r.ok && setProps(r.value))
    return () => {
      live = false
    }
  }, [api, docId])

  // Presence and authors of the open document.
  useEffect(() => {
    if (!editor || !docId) return
    const sync = new PresenceSync(api, docId, editor)
    presence.current = sync
    let live = true
    void api.presence(docId).then((r) => {
      if (live && r.ok) {
        setPeople(r.value)
        sync.show(r.value)
      }
    })
    void api.authors(docId).then((r) => live && r.ok && setAuthors(r.value))
    sync.cursorMoved()
    return () => {
      live = false
      sync.close()
      presence.current = null
    }
  }, [api, editor, docId])

  useApiEvent(api, (event) => {
    if (!docId) return
    if (event.type === 'presence' && event.docId === docId) {
      // Most presence is a cursor that moved: the people bar re-renders only when the people change.
      setPeople((prev) => (samePeople(prev, event.people) ? prev : event.people))
      presence.current?.show(event.people)
      // Someone who left (their connection closed) is no longer followed.
      if (following !== null && !event.people.some((p) => p.device === following)) {
        setFollowing(null)
        presence.current?.follow(null)
      }
      // Colours move as people come and go (no two present share a default): authorship follows.
      const authorsNow = Object.values(authorsRef.current)
      const moved = event.people.some((p) =>
        authorsNow.some((a) => a.device === p.device && a.color !== p.color),
      )
      if (moved) void api.authors(docId).then((r) => r.ok && setAuthors(r.value))
    } else if (event.type === 'props' && event.docId === docId) {
      setProps(event.props)
      // Author records are properties: a new person's first edit brings theirs.
      void api.authors(docId).then((r) => r.ok && setAuthors(r.value))
    } else if (event.type === 'ops' && event.docId === docId) {
      // Text of a replica the list does not name, asked for once: a merge from disk into a file of a
      // project comes with no author record (DocSession.applyLocalBatch), only its seal.
      const asked = askedAuthors.current.docId === docId ? askedAuthors.current.replicas : new Set<string>()
      askedAuthors.current = { docId, replicas: asked }
      const unnamed = decodeTextBatchReplicas(event.batch).filter(
        (r) => !(r in authorsRef.current) && !asked.has(r),
      )
      if (unnamed.length > 0) {
        for (const r of unnamed) asked.add(r)
        void api.authors(docId).then((r) => r.ok && setAuthors(r.value))
      }
    } else if (event.type === 'restored' && event.docId === docId) {
      setRestored(event.restore)
    } else if (event.type === 'sharing' && event.sharing.docId === docId) {
      setRole(event.sharing.myRole)
    }
  })

  const onEditorUpdate = useCallback((docChanged: boolean): void => {
    presence.current?.cursorMoved()
    if (!docChanged) return
    presence.current?.textChanged()
    // Only the history list reads the revision: the window does not re-render for every keystroke.
    if (panelRef.current === 'history') setRevision((r) => r + 1)
    const h = editorRef.current
    if (!h) return
    const ranges = awayRanges(h.view)
    setAway(ranges.length === 0 ? null : ranges)
  }, [])
  // Named from the authors known now: an author record may come just after the text it names.
  const awayNames = useMemo(
    () => (away && editor ? authorsIn(editor, away, authors) : []),
    [away, editor, authors],
  )

  const onReady = useCallback((h: EditorHandle | null) => {
    editorRef.current = h
    setEditor(h)
    // A tab's editor shown again may hold what changed while this person was away.
    const ranges = h ? awayRanges(h.view) : []
    setAway(ranges.length === 0 ? null : ranges)
  }, [])

  const follow = (device: string | null): void => {
    setFollowing(device)
    presence.current?.follow(device)
  }

  const restore = (r: RestoreRequest): void => {
    const h = editorRef.current
    if (!h || !docId) return
    const removed = restoreText(h.view, h.replica, r.text, authorsRef.current)
    // The people whose text it removed are told (the node tells each, and not this device).
    if (Object.keys(removed).length > 0) {
      void api.noteRestore(docId, { version: r.version, of: r.of, versionAt: r.at, removed }).then(show)
    }
  }

  const push = useCallback(
    (id: string, batch: Uint8Array): Promise<void> =>
      api.pushOps(id, batch).then((result) => {
        const s = show(result)
        if (s) showStatus(s)
      }),
    [api, show, showStatus],
  )

  const checkOrder = useCallback(
    (id: string, version: Readonly<Record<string, number>>, digest: Uint8Array) =>
      api.checkOrder(id, version, digest),
    [api],
  )

  const saved = useCallback(
    (s: DocStatus): void => {
      setMessage(null)
      showStatus(s)
    },
    [showStatus],
  )

  /** Browser mode's Save As: asks for the path, starting from the document's own file (or none). */
  const saveAs = useCallback((): void => {
    if (!openedRef.current) return
    setSaveDialog({ initialPath: statusRef.current?.path ?? '' })
  }, [])

  /** Save: the document's own file; one with no file yet asks where (a new document has no path). */
  const save = useCallback(async (): Promise<void> => {
    const doc = openedRef.current
    if (!doc) return
    if (!statusRef.current?.path) return saveAs()
    const s = show(await api.save(doc.docId))
    if (s) saved(s)
  }, [api, show, saved, saveAs])

  // Browser mode has no menu: Ctrl/Cmd+S saves here, Ctrl/Cmd+Shift+S saves as (Electron's menu takes
  // the keys before the page).
  useEffect(() => {
    if (!browserMode) return
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 's') {
        e.preventDefault()
        // A project's files are written to its folder as people type: there is nothing to save.
        if (projectIdRef.current) return
        if (e.shiftKey) saveAs()
        else void save()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [browserMode, save, saveAs])

  // Quick open: Ctrl+P (Cmd+P on a Mac), in a project window, wherever the focus is.
  useEffect(() => {
    if (!projectId) return
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'p') {
        e.preventDefault()
        setQuickOpen(true)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [projectId])

  // A file deleted (by anyone) loses its tab; the editor moves on if it showed it. Only files that
  // were in the tree and left it: a file just made has its tab before the tree event that lists it.
  const { entries, tabs, active } = project
  const listedBefore = useRef<readonly { node: string }[]>([])
  useEffect(() => {
    const before = listedBefore.current
    listedBefore.current = entries
    const now = new Set(entries.map((e) => e.node))
    for (const { node } of before) if (!now.has(node) && tabs.includes(node)) closeTab(node)
    // Tabs are read as they are now; a change of tabs alone deletes nothing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [entries, closeTab])

  const prop = (key: string): string | null => props?.find((p) => p.key === key)?.value ?? null
  const language = prop('language')
  // One name everywhere, live: the title property (the one the document opened with until they load),
  // else the file's name (where it is saved now), else "Untitled".
  const path = opened && status?.docId === opened.docId ? status.path : (opened?.path ?? null)
  // A project's file is named by the tree as it is now (renamed by anyone, renamed here).
  const activePath = project.info ? (entries.find((e) => e.node === active)?.path ?? null) : null
  const title = project.info
    ? activePath
      ? nameOf(activePath)
      : project.info.title
    : opened
      ? docTitle(props === null ? opened.title : prop('title'), path)
      : null
  useEffect(() => {
    document.title = title === null ? 'Meshpad' : `${title} — Meshpad`
  }, [title])
  /** In a project, what may be changed is the project's role's (none once this device was removed). */
  const projectRole = project.info?.role
  const canEditProject = projectRole === 'owner' || projectRole === 'editor'
  const readOnly = role === 'viewer' || (project.info !== null && !canEditProject)
  // Removed from the project: no one is here with this device any more, and no peer syncs with it.
  const removedFromProject = project.info !== null && projectRole === null
  useEffect(() => {
    if (!removedFromProject) return
    const id = openedRef.current?.docId
    if (id) void api.status(id).then((r) => r.ok && showStatus(r.value))
  }, [removedFromProject, api, showStatus])
  /**
   * Opens a side panel, or closes it with null. History opened so starts at now again, and a past
   * version it showed goes with it (its way back to now, and Restore, are in the panel).
   */
  const choosePanel = (name: PanelName | null): void => {
    setHistoryFrom(null)
    if (name !== 'history') setPreview(null)
    setPanel(name)
  }
  /** The picker's choice, as the "language" property (none: from the file name); the reply is the list. */
  const chooseLanguage = (name: string | null): void => {
    if (!docId) return
    const request = name === null ? api.deleteProp(docId, 'language') : api.setProp(docId, 'language', name)
    void request.then((r) => {
      const list = show(r)
      if (list) setProps(list)
    })
  }
  return (
    <div className="app">
      {browserMode && (
        <Toolbar
          // A project's files are written to its folder: no Save or Save As for them.
          docId={projectId ? null : (opened?.docId ?? null)}
          actions={{
            openFile: (path) => void open(api.openFile(path)),
            openDocument: (id) => void open(api.openDocument(id)),
            newDocument: () => void open(api.newDocument('')),
            save: () => void save(),
            saveAs,
          }}
        />
      )}
      {saveDialog && opened && (
        <SaveDialog
          key={opened.docId}
          initialPath={saveDialog.initialPath}
          saveAs={(path, options) => api.saveAs(opened.docId, path, options)}
          onSaved={(s) => {
            setSaveDialog(null)
            saved(s)
          }}
          onCancel={() => setSaveDialog(null)}
        />
      )}
      {withNode && (
        <DocBar
          title={title}
          hasDoc={opened !== null}
          inProject={projectId !== null}
          people={removedFromProject ? [] : people}
          following={following}
          onFollow={follow}
          showAuthors={showAuthors}
          onShowAuthors={setShowAuthors}
          panel={panel}
          onPanel={choosePanel}
          onBack={projectId ? leaveProject : closeDocument}
        />
      )}
      <div className="workspace">
        {project.info && (
          <ProjectTree
            api={api}
            projectId={project.info.projectId}
            title={project.info.title}
            entries={entries}
            presence={project.presence}
            away={project.away}
            notShared={project.notShared}
            deleted={project.deleted}
            activeNode={opened ? active : null}
            role={project.info.role}
            onOpen={openProjectFile}
            onError={setMessage}
          />
        )}
        <main className={preview ? 'main previewing' : 'main'}>
          {project.info && (
            <FileTabs
              tabs={tabs}
              entries={entries}
              active={active}
              onSelect={openProjectFile}
              onClose={closeTab}
            />
          )}
          {project.info && removedFromProject && (
            <div className="notice" data-testid="project-removed" role="alert">
              <span>
                This device is no longer a member of {project.info.title}: an owner removed it. The files stay
                in {project.info.dir} as they are, and nothing changed here is shared any more.
              </span>
              <button onClick={leaveProject}>Close project</button>
            </div>
          )}
          {message && (
            <div className="message" data-testid="message" role="alert">
              <span>{message}</span>
              <button className="ghost" aria-label="Dismiss" title="Dismiss" onClick={() => setMessage(null)}>
                <X size={16} />
              </button>
            </div>
          )}
          {away && (
            <div className="away" data-testid="away" role="status">
              <span>
                While you were away, {awayNames.length > 0 && `${awayNames.join(', ')} changed `}
                {away.length} {away.length === 1 ? 'place' : 'places'}
                {awayNames.length === 0 && ' changed'} (highlighted).
              </span>
              <button
                data-testid="away-dismiss"
                onClick={() => {
                  editorRef.current?.view.dispatch({ effects: clearAway.of(null) })
                  setAway(null)
                }}
              >
                Dismiss
              </button>
            </div>
          )}
          {restored && (
            <RestoreNotice
              notice={restored}
              onView={() => {
                setHistoryFrom((f) => ({ device: restored.device, n: (f?.n ?? 0) + 1 }))
                setPanel('history')
                setRestored(null)
              }}
              onDismiss={() => setRestored(null)}
            />
          )}
          {withNode && !opened && project.info ? (
            <div className="project-empty" data-testid="project-empty">
              <p>
                Open a file from the tree, or press <kbd>Ctrl</kbd>+<kbd>P</kbd> and type part of its name.
              </p>
              <p className="hint">{project.info.dir}</p>
            </div>
          ) : withNode && !opened ? (
            <StartScreen
              api={api}
              onOpen={(id) => void open(api.openDocument(id))}
              onNew={() => void open(api.newDocument(''))}
              onOpenFile={(path) => void open(api.openFile(path))}
              onOpenProject={(id) => void openProject(id)}
            />
          ) : (
            editorDocs(opened, project.info ? project.tabDocs : []).map(({ node, doc }) => {
              const shown = doc === opened
              return (
                <div
                  key={doc?.docId ?? 'scratch'}
                  className="live"
                  hidden={!shown}
                  {...(node ? { role: 'tabpanel', id: panelId(node), 'aria-labelledby': tabId(node) } : {})}
                >
                  <Editor
                    doc={doc}
                    active={shown}
                    events={events}
                    push={push}
                    checkOrder={checkOrder}
                    onOrderDiffers={reopen}
                    onCursor={cursor.set}
                    onReady={onReady}
                    onUpdate={onEditorUpdate}
                    readOnly={readOnly}
                    language={language}
                    authors={showAuthors ? authors : null}
                  />
                </div>
              )
            })
          )}
          {preview && (
            <Preview
              text={preview.text}
              label={preview.label}
              language={language}
              fileName={opened?.fileName ?? null}
            />
          )}
        </main>
        {panel && (
          <aside className="side-panel" data-testid="side-panel" aria-label="Side panel">
            <button
              className="ghost icon panel-close"
              aria-label="Close panel"
              title="Close panel"
              onClick={() => choosePanel(null)}
            >
              <X size={16} />
            </button>
            {panel === 'nearby' && (
              <NearbyPanel
                key={invite}
                api={api}
                invite={invite}
                onOpenDoc={(id) => void open(api.openDocument(id))}
                onProjectInvite={setProjectInvite}
              />
            )}
            {panel === 'settings' && <SettingsPanel api={api} />}
            {panel === 'share' && (projectId ?? docId) && (
              // In a project window, the project is shared (its members and invites are its files').
              <SharePanel api={api} docId={(projectId ?? docId)!} />
            )}
            {panel === 'props' && docId && <PropertiesPanel api={api} docId={docId} readOnly={readOnly} />}
            {panel === 'history' && editor && (
              <HistoryPanel
                key={historyFrom?.n ?? 0}
                replica={editor.replica}
                revision={revision}
                authors={authors}
                canRestore={!readOnly}
                showBefore={historyFrom?.device ?? null}
                onPreview={setPreview}
                onRestore={restore}
              />
            )}
          </aside>
        )}
      </div>
      <StatusBar
        editing={opened !== null || !withNode}
        // Until the editor shows the document (a big one takes a moment), its status would not be true.
        opening={opened !== null && editor?.docId !== opened.docId}
        file={
          project.info && activePath ? `${project.info.dir}/${activePath}` : (path ?? title ?? 'No document')
        }
        status={status}
        cursor={cursor}
        host={host}
        inFolder={projectId !== null}
        language={
          opened && (
            <LanguagePicker
              language={language}
              fileName={opened.fileName}
              disabled={readOnly || props === null}
              onChange={chooseLanguage}
            />
          )
        }
      />
      {withNode && <JoinRequests api={api} />}
      {projectInvite !== null && (
        <JoinProjectDialog
          api={api}
          invite={projectInvite}
          onJoined={(id) => {
            setProjectInvite(null)
            setPanel(null)
            void openProject(id)
          }}
          onCancel={() => setProjectInvite(null)}
        />
      )}
      {quickOpen && project.info && (
        <QuickOpen entries={entries} onOpen={openProjectFile} onClose={() => setQuickOpen(false)} />
      )}
    </div>
  )
}

/**
 * The editors a window holds: one per project tab whose file is open (hidden but the shown one, so
 * each keeps its undo history and follows its file), and the shown document if no tab holds it (a
 * window's one document, or the scratch editor with no node).
 */
function editorDocs(
  opened: OpenedDoc | null,
  tabDocs: readonly TabDoc[],
): { node: string | null; doc: OpenedDoc | null }[] {
  const out: { node: string | null; doc: OpenedDoc | null }[] = tabDocs.map(({ node, doc }) => ({
    node,
    doc: doc.docId === opened?.docId ? opened : doc,
  }))
  if (!tabDocs.some((t) => t.doc.docId === opened?.docId)) out.push({ node: null, doc: opened })
  return out
}
