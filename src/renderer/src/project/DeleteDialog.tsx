import { useLayoutEffect, useRef } from 'react'
import type { TreeRow } from './tree-rows'

/**
 * Asks before deleting a file or folder: it goes from every member's folder, so the question says so.
 * Cancel has the focus, so Enter does not delete by accident. (The project keeps deleted nodes in its
 * trash; there is no UI to restore them yet.)
 */
export function DeleteDialog({
  row,
  onCancel,
  onDelete,
}: {
  row: TreeRow
  onCancel: () => void
  onDelete: () => void
}): React.JSX.Element {
  const keep = useRef<HTMLButtonElement>(null)
  useLayoutEffect(() => keep.current?.focus(), [])
  return (
    <div
      className="modal-backdrop"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel()
      }}
    >
      <div
        className="modal"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="delete-title"
        aria-describedby="delete-detail"
        data-testid="delete-dialog"
      >
        <h2 id="delete-title">
          Delete {row.name}
          {row.kind === 'folder' ? ' and everything in it' : ''}?
        </h2>
        <p id="delete-detail">
          {row.path} is deleted for everyone in the project, and from each member’s folder.
        </p>
        <div className="modal-buttons">
          <button ref={keep} data-testid="delete-cancel" onClick={onCancel}>
            Cancel
          </button>
          <button className="danger" data-testid="delete-confirm" onClick={onDelete}>
            Delete
          </button>
        </div>
      </div>
    </div>
  )
}
