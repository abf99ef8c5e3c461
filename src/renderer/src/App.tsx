import { useCallback, useEffect, useState } from 'react'
import type { ApiResult, DocStatus, OpenedDoc } from '../../shared/api'
import { getApi, hasNode } from './bridge'
import { DocEvents } from './doc-events'
import { Editor } from './Editor'

const DOC_ID = /^[0-9a-f]{32}$/

function StatusBar({
  opened,
  status,
  cursor,
  host,
}: {
  opened: OpenedDoc | null
  status: DocStatus | null
  cursor: { line: number; column: number }
  host: string
}): React.JSX.Element {
  const name = status?.path ?? opened?.path ?? (opened ? opened.title || 'Untitled' : 'Untitled')
  const sync = status?.syncing
    ? `Syncing${status.progress !== null ? ` ${Math.round(status.progress * 100)}%` : '…'}`
    : 'Up to date'
  return (
    <footer className="status-bar" data-testid="status-bar">
      <span data-testid="file">{name}</span>
      {status && <span data-testid="saved">{status.saved ? 'Saved' : 'Unsaved'}</span>}
      <span className="spacer" />
      {status && (
        <>
          <span data-testid="online">{status.online ? 'Online' : 'Offline'}</span>
          <span data-testid="peers">
            {status.peers} {status.peers === 1 ? 'peer' : 'peers'}
          </span>
          <span data-testid="sync">{sync}</span>
        </>
      )}
      <span data-testid="cursor">
        Ln {cursor.line}, Col {cursor.column}
      </span>
      <span>{host}</span>
    </footer>
  )
}

export function App(): React.JSX.Element {
  const api = getApi()
  const withNode = hasNode()
  const [host, setHost] = useState('…')
  const [cursor, setCursor] = useState({ line: 1, column: 1 })
  const [opened, setOpened] = useState<OpenedDoc | null>(null)
  const [status, setStatus] = useState<DocStatus | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [target, setTarget] = useState('')

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
  const [events] = useState(
    () =>
      new DocEvents(
        api,
        (s) => setStatus((prev) => (prev === null || prev.docId === s.docId ? s : prev)),
        setMessage,
      ),
  )
  useEffect(() => events.listen(), [events])

  const show = useCallback(<T,>(result: ApiResult<T>): T | null => {
    if (result.ok) return result.value
    setMessage(result.message)
    return null
  }, [])

  const open = async (request: Promise<ApiResult<OpenedDoc>>): Promise<void> => {
    const doc = show(await request)
    if (!doc) return
    setMessage(null)
    setOpened(doc)
    const s = show(await api.status(doc.docId))
    if (s) setStatus(s)
  }

  const push = useCallback(
    (docId: string, batch: Uint8Array): void => {
      void api.pushOps(docId, batch).then((result) => {
        const s = show(result)
        if (s) setStatus(s)
      })
    },
    [api, show],
  )

  const save = async (as: boolean): Promise<void> => {
    if (!opened) return
    const path = target.trim()
    const result =
      as || (!status?.path && path) ? await api.saveAs(opened.docId, path) : await api.save(opened.docId)
    const s = show(result)
    if (s) {
      setMessage(null)
      setStatus(s)
    }
  }

  return (
    <div className="app">
      {withNode && (
        <header className="toolbar" data-testid="toolbar">
          <input
            data-testid="target"
            placeholder="File path or document ID"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
            spellCheck={false}
          />
          <button
            data-testid="open"
            onClick={() => {
              const t = target.trim()
              void open(DOC_ID.test(t) ? api.openDocument(t) : api.openFile(t))
            }}
          >
            Open
          </button>
          <button data-testid="new" onClick={() => void open(api.newDocument(target.trim() || 'Untitled'))}>
            New
          </button>
          <button data-testid="save" disabled={!opened} onClick={() => void save(false)}>
            Save
          </button>
          <button data-testid="save-as" disabled={!opened} onClick={() => void save(true)}>
            Save As
          </button>
          {opened && (
            <span data-testid="doc-id" className="doc-id">
              {opened.docId}
            </span>
          )}
          {message && (
            <span className="message" data-testid="message" role="alert">
              {message}
            </span>
          )}
        </header>
      )}
      <Editor
        key={opened?.docId ?? 'scratch'}
        doc={opened}
        events={events}
        push={push}
        onCursor={setCursor}
      />
      <StatusBar opened={opened} status={status} cursor={cursor} host={host} />
    </div>
  )
}
