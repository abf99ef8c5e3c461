import { Modal } from './Modal'
import type { TreeRow } from './tree-rows'

/**
 * Asks before deleting a file or folder: it goes from every member's folder, so the question says so.
 * Cancel has the focus, so Enter does not delete by accident. (The project keeps deleted nodes in its
 * trash, listed below the tree, from where they can be put back: Deleted.tsx.)
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
  return (
    <Modal
      title={`Delete ${row.name}${row.kind === 'folder' ? ' and everything in it' : ''}?`}
      testId="delete-dialog"
      onCancel={onCancel}
      alert={{ describedBy: 'delete-detail' }}
    >
      <p id="delete-detail">
        {row.path} is deleted for everyone in the project, and from each member’s folder.
      </p>
      <div className="modal-buttons">
        <button data-autofocus data-testid="delete-cancel" onClick={onCancel}>
          Cancel
        </button>
        <button className="danger" data-testid="delete-confirm" onClick={onDelete}>
          Delete
        </button>
      </div>
    </Modal>
  )
}
