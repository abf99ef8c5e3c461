import { useState } from 'react'
import { FilePlus, FolderOpen, Save } from 'lucide-react'

const DOC_ID = /^[0-9a-f]{32}$/

export interface ToolbarActions {
  readonly openFile: (path: string) => void
  readonly openDocument: (docId: string) => void
  /** A new, untitled document (the path field is not its title: that path belongs to another file). */
  readonly newDocument: () => void
  /** Save to the document's file; one with no file yet asks where (Save As). */
  readonly save: () => void
  /** Asks where to save (the Save As dialog). */
  readonly saveAs: () => void
}

/**
 * Browser mode's file controls. A web page has no native Open dialog and no application menu, so the
 * path (or a document ID) to open is typed here; Save As asks for its path in a dialog of its own
 * (SaveDialog.tsx), so a path typed here to open a file is never where another document is saved.
 * The Electron shell uses its menu and native dialogs.
 */
export function Toolbar({
  actions,
  docId,
}: {
  actions: ToolbarActions
  docId: string | null
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
        title="Open the file or document"
        onClick={() => (DOC_ID.test(t) ? actions.openDocument(t) : actions.openFile(t))}
      >
        <FolderOpen size={15} />
        Open
      </button>
      <button data-testid="new" onClick={() => actions.newDocument()} title="New document">
        <FilePlus size={15} />
        New
      </button>
      <button data-testid="save" disabled={!docId} onClick={() => actions.save()} title="Save (Ctrl+S)">
        <Save size={15} />
        Save
      </button>
      <button
        data-testid="save-as"
        disabled={!docId}
        onClick={() => actions.saveAs()}
        title="Save As (Ctrl+Shift+S)"
      >
        Save As…
      </button>
      {docId && (
        <span data-testid="doc-id" className="doc-id" title={`Document ID ${docId}`}>
          {docId}
        </span>
      )}
    </header>
  )
}
