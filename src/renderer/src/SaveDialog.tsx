import { useLayoutEffect, useRef, useState } from 'react'
import type { ApiResult, DocStatus, SaveAsOptions } from '../../shared/api'
import { fileName } from '../../shared/doc-title'

/**
 * Browser mode's Save As: a web page has no native Save dialog, so the path is typed here. The API
 * refuses to replace an existing file that is not the document's own (FILE_EXISTS); then this asks,
 * and only "Replace" sends `overwrite`. Cancel there goes back to the path, to choose another.
 */
export function SaveDialog({
  initialPath,
  saveAs,
  onSaved,
  onCancel,
}: {
  /** The document's own file, or '' for a document with no file yet (never a path typed elsewhere). */
  initialPath: string
  saveAs: (path: string, options?: SaveAsOptions) => Promise<ApiResult<DocStatus>>
  onSaved: (status: DocStatus) => void
  onCancel: () => void
}): React.JSX.Element {
  const [path, setPath] = useState(initialPath)
  const [replacing, setReplacing] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  const keep = useRef<HTMLButtonElement>(null)
  const p = path.trim()

  // Before the dialog is painted: a key typed the moment it shows goes into it, never into the document.
  useLayoutEffect(() => {
    if (replacing) keep.current?.focus()
    else input.current?.focus()
  }, [replacing])

  const save = async (target: string, overwrite: boolean): Promise<void> => {
    setBusy(true)
    try {
      const result = await saveAs(target, overwrite ? { overwrite: true } : undefined)
      if (result.ok) return onSaved(result.value)
      if (result.code === 'FILE_EXISTS' && !overwrite) {
        setError(null)
        setReplacing(target)
      } else {
        setReplacing(null)
        setError(result.message)
      }
    } finally {
      setBusy(false)
    }
  }

  const onKeyDown = (e: React.KeyboardEvent): void => {
    if (e.key !== 'Escape') return
    e.preventDefault()
    if (replacing) setReplacing(null)
    else onCancel()
  }

  return (
    <div className="modal-backdrop" onKeyDown={onKeyDown}>
      {replacing === null ? (
        <div
          className="modal"
          role="dialog"
          aria-modal="true"
          aria-labelledby="save-dialog-title"
          data-testid="save-dialog"
        >
          <form
            onSubmit={(e) => {
              e.preventDefault()
              if (p && !busy) void save(p, false)
            }}
          >
            <h2 id="save-dialog-title">Save As</h2>
            <label>
              <span>Save to file</span>
              <input
                ref={input}
                data-testid="save-path"
                placeholder="/home/you/notes.md"
                value={path}
                onChange={(e) => setPath(e.target.value)}
                spellCheck={false}
              />
            </label>
            {error && (
              <p role="alert" className="panel-error" data-testid="save-error">
                {error}
              </p>
            )}
            <div className="modal-buttons">
              <button type="button" data-testid="save-cancel" onClick={onCancel}>
                Cancel
              </button>
              <button type="submit" className="primary" data-testid="save-confirm" disabled={!p || busy}>
                Save
              </button>
            </div>
          </form>
        </div>
      ) : (
        <div
          className="modal"
          role="alertdialog"
          aria-modal="true"
          aria-labelledby="overwrite-title"
          aria-describedby="overwrite-detail"
          data-testid="overwrite-dialog"
        >
          <h2 id="overwrite-title">{fileName(replacing)} already exists. Replace it?</h2>
          <p id="overwrite-detail">
            {replacing} is another file. Replacing it writes this document over what it holds now.
          </p>
          <div className="modal-buttons">
            <button ref={keep} data-testid="overwrite-cancel" onClick={() => setReplacing(null)}>
              Cancel
            </button>
            <button
              className="danger"
              data-testid="overwrite-replace"
              disabled={busy}
              onClick={() => void save(replacing, true)}
            >
              Replace
            </button>
          </div>
        </div>
      )}
    </div>
  )
}
