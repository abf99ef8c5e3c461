import { useCallback, useEffect, useRef, useState } from 'react'
import { redo, undo } from '@codemirror/commands'
import { openSearchPanel } from '@codemirror/search'
import type { EditorView } from '@codemirror/view'
import type { ApiResult, DocStatus, EditorCommand, OpenedDoc } from '../../shared/api'
import { parseOpenTarget, type OpenTarget } from '../../shared/open-target'
import { getApi, hasNode, isBrowserMode } from './bridge'
import { DocEvents } from './doc-events'
import { Editor } from './Editor'
import { StartScreen } from './StartScreen'
import { StatusBar } from './StatusBar'
import { Toolbar } from './Toolbar'

/**
 * One window, one document (the Electron shell opens a window per document; a browser tab is the
 * same). Before it has a document the window shows the start screen; with no node behind it (the bare
 * renderer) a scratch editor.
 */
export function App(): React.JSX.Element {
  const api = getApi()
  const withNode = hasNode()
  const [host, setHost] = useState('…')
  const [cursor, setCursor] = useState({ line: 1, column: 1 })
  const [opened, setOpened] = useState<OpenedDoc | null>(null)
  const [status, setStatus] = useState<DocStatus | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const view = useRef<EditorView | null>(null)
  // The latest state for event handlers and commands, which outlive a render.
  const openedRef = useRef<OpenedDoc | null>(null)
  const statusRef = useRef<DocStatus | null>(null)
  useEffect(() => {
    openedRef.current = opened
    statusRef.current = status
  }, [opened, status])

  useEffect(() => {
    let live = true
    void api.appInfo().then((result) => {
      if (live) setHost(result.ok ? `${result.value.host} ${result.value.version}` : result.message)
    })
    return () => {
      live = false
    }
  }, [api])

  const show = useCallback(<T,>(result: ApiResult<T>): T | null => {
    if (result.ok) return result.value
    setMessage(result.message)
    return null
  }, [])

  const open = useCallback(
    async (request: Promise<ApiResult<OpenedDoc>>): Promise<void> => {
      const doc = show(await request)
      if (!doc) return
      setMessage(null)
      setOpened(doc)
      document.title = `${doc.path ? doc.path.split(/[\\/]/).pop() : doc.title || 'Untitled'} — Meshpad`
      const s = show(await api.status(doc.docId))
      if (s) setStatus(s)
    },
    [api, show],
  )

  const openTarget = useCallback(
    (target: OpenTarget): void => {
      switch (target.kind) {
        case 'new':
          return void open(api.newDocument(target.title))
        case 'file':
          return void open(api.openFile(target.path))
        case 'doc':
          return void open(api.openDocument(target.docId))
        case 'invite':
          setMessage('Joining with an invite link is not available in this window yet.')
      }
    },
    [api, open],
  )

  const runCommand = useCallback((command: EditorCommand): void => {
    const v = view.current
    if (!v) return
    switch (command) {
      case 'undo':
        undo(v)
        break
      case 'redo':
        redo(v)
        break
      case 'find':
        openSearchPanel(v)
        break
      case 'share':
        setMessage(`Document ID: ${openedRef.current?.docId ?? ''}`)
        break
    }
    v.focus()
  }, [])

  // One router of the node's events for the window's life; it subscribes in an effect (StrictMode-safe).
  const [events] = useState(() => new DocEvents(api))
  useEffect(
    () =>
      events.listen({
        status: (s) => setStatus((prev) => (prev === null || prev.docId === s.docId ? s : prev)),
        error: setMessage,
        command: runCommand,
        open: openTarget,
      }),
    [events, runCommand, openTarget],
  )

  // What the window was opened for (the shell, or a bookmarked browser-mode URL, puts it in the fragment).
  useEffect(() => {
    if (!withNode) return
    const target = parseOpenTarget(window.location.hash)
    if (target) void Promise.resolve(target).then(openTarget)
    // Once per window: the fragment names what the window was opened for, not later navigation.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  const push = useCallback(
    (docId: string, batch: Uint8Array): void => {
      void api.pushOps(docId, batch).then((result) => {
        const s = show(result)
        if (s) setStatus(s)
      })
    },
    [api, show],
  )

  const save = useCallback(
    async (path: string | null): Promise<void> => {
      const doc = openedRef.current
      if (!doc) return
      const result = path ? await api.saveAs(doc.docId, path) : await api.save(doc.docId)
      const s = show(result)
      if (s) {
        setMessage(null)
        setStatus(s)
      }
    },
    [api, show],
  )

  // Browser mode has no menu: Ctrl/Cmd+S saves here (Electron's menu takes the key before the page).
  const browserMode = isBrowserMode()
  useEffect(() => {
    if (!browserMode) return
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 's') {
        e.preventDefault()
        if (statusRef.current?.path) void save(null)
        else setMessage('This document has no file yet: type a path above and press Save As.')
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [browserMode, save])

  const onView = useCallback((v: EditorView | null) => {
    view.current = v
  }, [])

  return (
    <div className="app">
      {browserMode && (
        <Toolbar
          docId={opened?.docId ?? null}
          hasPath={Boolean(status?.path)}
          actions={{
            openFile: (path) => void open(api.openFile(path)),
            openDocument: (docId) => void open(api.openDocument(docId)),
            newDocument: (title) => void open(api.newDocument(title)),
            save: (path) => void save(path),
          }}
        />
      )}
      {message && (
        <div className="message" data-testid="message" role="alert">
          <span>{message}</span>
          <button aria-label="Dismiss" onClick={() => setMessage(null)}>
            ×
          </button>
        </div>
      )}
      {withNode && !opened ? (
        <StartScreen
          api={api}
          onOpen={(docId) => void open(api.openDocument(docId))}
          onNew={() => void open(api.newDocument('Untitled'))}
        />
      ) : (
        <Editor
          key={opened?.docId ?? 'scratch'}
          doc={opened}
          events={events}
          push={push}
          onCursor={setCursor}
          onView={onView}
        />
      )}
      <StatusBar
        editing={opened !== null || !withNode}
        opened={opened}
        status={status}
        cursor={cursor}
        host={host}
      />
    </div>
  )
}
