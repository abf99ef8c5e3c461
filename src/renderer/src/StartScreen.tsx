import { useEffect, useState } from 'react'
import type { DocSummary, MeshpadBridge } from '../../shared/api'
import { docTitle } from '../../shared/doc-title'

/**
 * What a window shows before it has a document: the documents this device holds (its own, files it
 * opened, documents joined from others) and a way to start a new one.
 */
export function StartScreen({
  api,
  onOpen,
  onNew,
}: {
  api: MeshpadBridge
  onOpen: (docId: string) => void
  onNew: () => void
}): React.JSX.Element {
  const [docs, setDocs] = useState<DocSummary[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    void api.listDocuments().then((result) => {
      if (!live) return
      if (result.ok) setDocs(result.value)
      else setError(result.message)
    })
    return () => {
      live = false
    }
  }, [api])
  return (
    <main className="start" data-testid="start">
      <h1>Meshpad</h1>
      <p className="hint">Edit a text file together with people on your network. No server, no account.</p>
      <button className="primary" data-testid="start-new" onClick={onNew}>
        New document
      </button>
      <h2>Documents on this device</h2>
      {error && <p role="alert">{error}</p>}
      {docs === null && !error && <p className="hint">Loading…</p>}
      {docs?.length === 0 && <p className="hint">None yet: create one, or open a file.</p>}
      <ul className="doc-list" data-testid="doc-list">
        {docs?.map((d) => (
          <li key={d.docId}>
            <button onClick={() => onOpen(d.docId)} title={d.path ?? d.docId}>
              <span className="title">{docTitle(d.title, d.path)}</span>
              <span className="meta">{d.path ?? `Kept in Meshpad · ${d.role ?? 'member'}`}</span>
            </button>
          </li>
        ))}
      </ul>
    </main>
  )
}
