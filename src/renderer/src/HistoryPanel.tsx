import { useEffect, useMemo, useState } from 'react'
import type { AuthorInfo } from '../../shared/api'
import type { TextDoc } from '../../shared/crdt'
import { historyGroups, stepsOf, versionName, when, type HistoryGroup } from './history-groups'

/** A past version to show in place of the editor. */
export interface HistoryPreview {
  readonly steps: number
  readonly text: string
  readonly label: string
}

/** A version to make current, and which it is (for the notice the others get). */
export interface RestoreRequest {
  readonly text: string
  readonly version: number
  readonly of: number
  /** When the version was made (its last edit; seconds since the epoch, 0 unknown). */
  readonly at: number
}

/** Who made a version and when, under the slider and in the preview's label. */
const madeBy = (group: HistoryGroup | undefined): string =>
  group ? `${group.author.name} · ${when(group.to)}` : 'Before the first edit'

/**
 * The document's history by author and time. The slider steps through versions, one per group of the
 * timeline (consecutive edits by one person close in time), and shows a past one read-only in the
 * window (`onPreview`); "Restore" makes it current with new ops (`onRestore`), so history is never
 * rewritten and the restore can itself be undone.
 */
export function HistoryPanel({
  replica,
  revision,
  authors,
  canRestore,
  showBefore,
  onPreview,
  onRestore,
}: {
  replica: TextDoc
  /** Changes whenever the document does, so the timeline follows it. */
  revision: number
  authors: Readonly<Record<string, AuthorInfo>>
  canRestore: boolean
  /** Start by showing the version before this device's latest edits (a restore someone was told of). */
  showBefore: string | null
  onPreview: (preview: HistoryPreview | null) => void
  onRestore: (restore: RestoreRequest) => void
}): React.JSX.Element {
  const history = useMemo(() => replica.history(), [replica, revision]) // eslint-disable-line react-hooks/exhaustive-deps
  const groups = useMemo(() => historyGroups(history, authors), [history, authors])
  const count = groups.length
  /**
   * The version shown (groups applied), or null for now. Opened from a restore notice, it starts at
   * the version before that person's latest edits (the restore); later edits do not move it.
   */
  const [picked, setPicked] = useState<number | null>(() => {
    const latest = showBefore === null ? -1 : groups.findLastIndex((g) => g.author.device === showBefore)
    return latest >= 0 ? latest : null
  })
  const shown = picked === null ? count : Math.min(picked, count)
  const previewOf = (k: number): HistoryPreview => {
    const steps = stepsOf(groups, k)
    return {
      steps,
      text: replica.textAfter(steps),
      label: `${versionName(k, count)}, ${madeBy(groups[k - 1])}`,
    }
  }
  const pick = (k: number): void => {
    if (k >= count) {
      setPicked(null)
      onPreview(null)
      return
    }
    setPicked(k)
    onPreview(previewOf(k))
  }
  // The version it started at is shown in the window, once.
  useEffect(() => {
    if (picked !== null) onPreview(previewOf(picked))
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])
  const shownGroup = groups[shown - 1]
  return (
    <section className="panel history" data-testid="history-panel" aria-label="History">
      <h2>History</h2>
      <label className="slider">
        <span data-testid="history-version">
          {versionName(shown, count)}
          {shown === count && ' (now)'}
        </span>
        <input
          type="range"
          data-testid="history-slider"
          min={0}
          max={count}
          step={1}
          value={shown}
          aria-valuetext={`${versionName(shown, count)}: ${madeBy(shownGroup)}`}
          onChange={(e) => pick(Number(e.target.value))}
        />
      </label>
      <p className="history-made-by" data-testid="history-made-by">
        {shownGroup && <span className="dot" style={{ backgroundColor: shownGroup.author.color }} />}
        {madeBy(shownGroup)}
      </p>
      {shown < count && (
        <div className="history-actions">
          <button
            data-testid="history-restore"
            disabled={!canRestore}
            title={
              canRestore
                ? 'Make this version current (as new edits everyone receives)'
                : 'Viewers cannot restore'
            }
            onClick={() => {
              const steps = stepsOf(groups, shown)
              onRestore({
                text: replica.textAfter(steps),
                version: shown,
                of: count,
                at: shownGroup?.to ?? 0,
              })
              setPicked(null)
              onPreview(null)
            }}
          >
            Restore this version
          </button>
          <button data-testid="history-now" onClick={() => pick(count)}>
            Back to now
          </button>
        </div>
      )}
      <ol className="timeline" data-testid="timeline">
        {groups
          .map((g, i) => (
            <li key={g.steps} className={i < shown ? 'reached' : 'ahead'}>
              <button onClick={() => pick(i + 1)} title="Show the document as it was after this">
                <span className="dot" style={{ backgroundColor: g.author.color }} />
                <span className="who">{g.author.name}</span>
                <span className="what">
                  {g.inserted > 0 && `+${g.inserted}`} {g.deleted > 0 && `−${g.deleted}`}
                </span>
                <span className="when">{when(g.to)}</span>
              </button>
            </li>
          ))
          .reverse()}
      </ol>
    </section>
  )
}
