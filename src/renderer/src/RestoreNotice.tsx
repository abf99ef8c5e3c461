import type { RestoreNotice as Notice } from '../../shared/api'
import { versionName, when } from './history-groups'

const characters = (n: number): string => (n === 1 ? '1 character' : `${n} characters`)

/**
 * Someone restored a past version and removed text this person wrote: who, which version, how much,
 * and a way to see it in History (their Undo is not this person's to use). The "While you were away"
 * bar's look and place.
 */
export function RestoreNotice({
  notice,
  onView,
  onDismiss,
}: {
  notice: Notice
  onView: () => void
  onDismiss: () => void
}): React.JSX.Element {
  const version = versionName(notice.version, notice.of)
  const asOf = notice.versionAt > 0 ? ` (as of ${when(notice.versionAt)})` : ''
  return (
    <div className="notice" data-testid="restore-notice" role="status">
      <span>
        {notice.name} restored {version.toLowerCase()}
        {asOf}: {characters(notice.removed)} you wrote {notice.removed === 1 ? 'was' : 'were'} removed.
      </span>
      <button data-testid="restore-notice-view" onClick={onView}>
        View in History
      </button>
      <button data-testid="restore-notice-dismiss" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  )
}
