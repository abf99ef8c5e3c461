/**
 * A project window's state: the project, its tree and who is in which file (live, from the node's
 * `tree` and `project-presence` events), and its open files as tabs (by tree node, so that a rename
 * keeps the tab). A tab keeps its file's document open once shown, so that its editor (its undo
 * history, its selection, its scroll) is there again when the tab is shown again.
 */
import { useCallback, useMemo, useRef, useState } from 'react'
import type {
  DeletedEntry,
  MeshpadBridge,
  NotSharedFile,
  OpenedDoc,
  ProjectEntry,
  ProjectInfo,
  ProjectPresence,
} from '../../../shared/api'
import { useApiEvent } from '../use-api-event'

export interface ProjectWindow {
  readonly info: ProjectInfo | null
  readonly entries: readonly ProjectEntry[]
  readonly presence: ProjectPresence
  /** Files others changed while this device was away, not opened here since. */
  readonly away: ReadonlySet<string>
  /** Files in this device's folder that the project leaves out. */
  readonly notShared: readonly NotSharedFile[]
  /** What was deleted from the project, latest first. */
  readonly deleted: readonly DeletedEntry[]
  readonly tabs: readonly string[]
  /** The tab shown (its file in the editor). */
  readonly active: string | null
  /** The tabs whose file is open (its editor made, shown or not), in tab order. */
  readonly tabDocs: readonly TabDoc[]
  enter(info: ProjectInfo): void
  leave(): void
  /** Adds the file's tab if it has none, and makes it the shown one. */
  showTab(node: string): void
  /**
   * Closes a tab: returns the tab to show instead if it was the shown one (null: none left), or
   * undefined if it was not.
   */
  closeTab(node: string): string | null | undefined
  /** The open document of a tab, if its file was opened in it. */
  docOf(node: string): OpenedDoc | undefined
  /** The tab holding a document open, if any. */
  tabOf(docId: string): string | undefined
  /**
   * Keeps a document open in its tab: false (and nothing kept) if the tab was closed meanwhile.
   * Another opening of the same file replaces the one before.
   */
  keepDoc(node: string, doc: OpenedDoc): boolean
  /** Forgets a tab's document (its editor goes; showing the tab opens the file again). */
  dropDoc(node: string): void
  /** The tab shown, as it is now (for callbacks that outlive a render). */
  activeTab(): string | null
}

/** A tab and its file's open document. */
export interface TabDoc {
  readonly node: string
  readonly doc: OpenedDoc
}

export function useProject(api: MeshpadBridge): ProjectWindow {
  const [info, setInfo] = useState<ProjectInfo | null>(null)
  const [entries, setEntries] = useState<readonly ProjectEntry[]>([])
  const [presence, setPresence] = useState<ProjectPresence>({})
  const [away, setAway] = useState<ReadonlySet<string>>(() => new Set())
  const [notShared, setNotShared] = useState<readonly NotSharedFile[]>([])
  const [deleted, setDeleted] = useState<readonly DeletedEntry[]>([])
  const [tabs, setTabs] = useState<readonly string[]>([])
  const [active, setActive] = useState<string | null>(null)
  const [tabDocs, setTabDocs] = useState<readonly TabDoc[]>([])
  // The same, for the callbacks, which must not change with every tab (App's effects depend on
  // them): each change is made here first, then mirrored in the state that renders.
  const state = useRef({
    tabs: [] as readonly string[],
    active: null as string | null,
    projectId: null as string | null,
    docs: new Map<string, OpenedDoc>(),
  })
  /** Renders the tabs' documents as they are now, in tab order. */
  const showDocs = useCallback((): void => {
    const { tabs: now, docs } = state.current
    setTabDocs(
      now.flatMap((node) => {
        const doc = docs.get(node)
        return doc ? [{ node, doc }] : []
      }),
    )
  }, [])

  useApiEvent(api, (event) => {
    const id = state.current.projectId
    if (event.type === 'tree' && event.projectId === id) {
      setEntries(event.entries)
      setDeleted(event.deleted)
    } else if (event.type === 'project-presence' && event.projectId === id) setPresence(event.files)
    else if (event.type === 'project-away' && event.projectId === id) setAway(new Set(event.files))
    else if (event.type === 'project-not-shared' && event.projectId === id) setNotShared(event.files)
    // A role changed (an owner made this device a viewer, or an editor): the tree's controls follow.
    else if (event.type === 'sharing' && event.sharing.docId === id) {
      const role = event.sharing.myRole
      setInfo((i) => (i && i.role !== role ? { ...i, role } : i))
    }
  })

  const enter = useCallback(
    (project: ProjectInfo): void => {
      state.current = { tabs: [], active: null, projectId: project.projectId, docs: new Map() }
      setInfo(project)
      setEntries(project.entries)
      setAway(new Set(project.away))
      setNotShared(project.notShared)
      setDeleted(project.deleted)
      setPresence({})
      setTabs([])
      setActive(null)
      setTabDocs([])
      void api.projectPresence(project.projectId).then((r) => {
        if (r.ok && state.current.projectId === project.projectId) setPresence(r.value)
      })
    },
    [api],
  )

  const leave = useCallback((): void => {
    state.current = { tabs: [], active: null, projectId: null, docs: new Map() }
    setInfo(null)
    setEntries([])
    setAway(new Set())
    setNotShared([])
    setDeleted([])
    setPresence({})
    setTabs([])
    setActive(null)
    setTabDocs([])
  }, [])

  const showTab = useCallback((node: string): void => {
    const now = state.current.tabs
    const next = now.includes(node) ? now : [...now, node]
    state.current.tabs = next
    state.current.active = node
    setTabs(next)
    setActive(node)
  }, [])

  const closeTab = useCallback(
    (node: string): string | null | undefined => {
      const { tabs: now, active: shown } = state.current
      const i = now.indexOf(node)
      if (i < 0) return undefined
      const rest = now.filter((n) => n !== node)
      state.current.tabs = rest
      setTabs(rest)
      if (state.current.docs.delete(node)) showDocs()
      if (shown !== node) return undefined
      const next = rest[i] ?? rest[i - 1] ?? null
      state.current.active = next
      setActive(next)
      return next
    },
    [showDocs],
  )

  const docOf = useCallback((node: string) => state.current.docs.get(node), [])
  const tabOf = useCallback((docId: string): string | undefined => {
    for (const [node, doc] of state.current.docs) if (doc.docId === docId) return node
    return undefined
  }, [])
  const keepDoc = useCallback(
    (node: string, doc: OpenedDoc): boolean => {
      if (!state.current.tabs.includes(node)) return false
      state.current.docs.set(node, doc)
      showDocs()
      return true
    },
    [showDocs],
  )
  const dropDoc = useCallback(
    (node: string): void => {
      if (state.current.docs.delete(node)) showDocs()
    },
    [showDocs],
  )
  const activeTab = useCallback(() => state.current.active, [])

  return useMemo(
    () => ({
      info,
      entries,
      presence,
      away,
      notShared,
      deleted,
      tabs,
      active,
      tabDocs,
      enter,
      leave,
      showTab,
      closeTab,
      docOf,
      tabOf,
      keepDoc,
      dropDoc,
      activeTab,
    }),
    [
      info,
      entries,
      presence,
      away,
      notShared,
      deleted,
      tabs,
      active,
      tabDocs,
      enter,
      leave,
      showTab,
      closeTab,
      docOf,
      tabOf,
      keepDoc,
      dropDoc,
      activeTab,
    ],
  )
}
