import { useState } from 'react'

const DOC_ID = /^[0-9a-f]{32}$/

export interface ToolbarActions {
  readonly openFile: (path: string) => void
  readonly openDocument: (docId: string) => void
  readonly newDocument: (title: string) => void
  /** Save; `path` for Save As (or a first save), else null. */
  readonly save: (path: string | null) => void
}

/**
 * Browser mode's file controls. A web page has no native Open and Save dialogs and no application
 * menu, so the path (or a document ID) is typed here; the Electron shell uses its menu and dialogs.
 */
export function Toolbar({
  actions,
  docId,
  hasPath,
}: {
  actions: ToolbarActions
  docId: string | null
  hasPath: boolean
}): React.JSX.Element {
  const [target, setTarget] = useState('')
  const t = target.trim()
  return (
    <header className="toolbar" data-testid="toolbar">
      <input
        data-testid="target"
        placeholder="File path or document ID"
        aria-label="File path or document ID"
        value={target}
        onChange={(e) => setTarget(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && t) {
            if (DOC_ID.test(t)) actions.openDocument(t)
            else actions.openFile(t)
          }
        }}
        spellCheck={false}
      />
      <button
        data-testid="open"
        disabled={!t}
        onClick={() => (DOC_ID.test(t) ? actions.openDocument(t) : actions.openFile(t))}
      >
        Open
      </button>
      <button data-testid="new" onClick={() => actions.newDocument(t || 'Untitled')}>
        New
      </button>
      <button
        data-testid="save"
        disabled={!docId || (!hasPath && !t)}
        onClick={() => actions.save(hasPath ? null : t)}
      >
        Save
      </button>
      <button data-testid="save-as" disabled={!docId || !t} onClick={() => actions.save(t)}>
        Save As
      </button>
      {docId && (
        <span data-testid="doc-id" className="doc-id">
          {docId}
        </span>
      )}
    </header>
  )
}
