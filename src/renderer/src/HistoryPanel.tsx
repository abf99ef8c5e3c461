import { useMemo, useState } from 'react'
import type { AuthorInfo } from '../../shared/api'
import type { HistoryEntry, TextDoc } from '../../shared/crdt'
import { UNKNOWN_AUTHOR } from './collab/authorship'

/** A row of the timeline: consecutive edits by one person, close together in time. */
interface Session {
  /** History entries up to and including this session. */
  readonly steps: number
  readonly author: AuthorInfo
  readonly from: number
  readonly to: number
  readonly inserted: number
  readonly deleted: number
}

const GAP_S = 5 * 60

function sessions(
  history: readonly HistoryEntry[],
  authors: Readonly<Record<string, AuthorInfo>>,
): Session[] {
  const out: Session[] = []
  let open: {
    steps: number
    author: AuthorInfo
    from: number
    to: number
    inserted: number
    deleted: number
  } | null = null
  history.forEach((entry, i) => {
    const author = authors[entry.replica] ?? UNKNOWN_AUTHOR
    if (
      open &&
      open.author.device === author.device &&
      author.device !== '' &&
      entry.time - open.to <= GAP_S
    ) {
      open.steps = i + 1
      open.to = Math.max(open.to, entry.time)
    } else {
      if (open) out.push(open)
      open = { steps: i + 1, author, from: entry.time, to: entry.time, inserted: 0, deleted: 0 }
    }
    if (entry.kind === 'insert') open.inserted += entry.length
    else open.deleted += entry.length
  })
  if (open) out.push(open)
  return out
}

const when = (s: number): string => (s > 0 ? new Date(s * 1000).toLocaleString() : 'unknown time')

/**
 * The document's history by author and time. The slider picks a past version, shown read-only by the
 * window (`onPreview`); "Restore" makes it current with new ops (`onRestore`), so history is never
 * rewritten and the restore can itself be undone.
 */
export function HistoryPanel({
  replica,
  revision,
  authors,
  canRestore,
  onPreview,
  onRestore,
}: {
  replica: TextDoc
  /** Changes whenever the document does, so the timeline follows it. */
  revision: number
  authors: Readonly<Record<string, AuthorInfo>>
  canRestore: boolean
  onPreview: (preview: { steps: number; text: string; label: string } | null) => void
  onRestore: (text: string) => void
}): React.JSX.Element {
  const history = useMemo(() => replica.history(), [replica, revision]) // eslint-disable-line react-hooks/exhaustive-deps
  const rows = useMemo(() => sessions(history, authors), [history, authors])
  const [picked, setPicked] = useState<number | null>(null)
  const steps = picked === null ? history.length : Math.min(picked, history.length)
  const pick = (value: number): void => {
    if (value >= history.length) {
      setPicked(null)
      onPreview(null)
      return
    }
    setPicked(value)
    const row = rows.findLast((r) => r.steps <= value)
    const label = row ? `as of ${when(row.to)} (after ${row.author.name})` : 'before the first edit'
    onPreview({ steps: value, text: replica.textAfter(value), label })
  }
  return (
    <section className="panel history" data-testid="history-panel" aria-label="History">
      <h2>History</h2>
      <label className="slider">
        <span>{steps === history.length ? 'Now' : `Version ${steps} of ${history.length}`}</span>
        <input
          type="range"
          data-testid="history-slider"
          min={0}
          max={history.length}
          value={steps}
          onChange={(e) => pick(Number(e.target.value))}
        />
      </label>
      {steps < history.length && (
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
              onRestore(replica.textAfter(steps))
              setPicked(null)
              onPreview(null)
            }}
          >
            Restore this version
          </button>
          <button data-testid="history-now" onClick={() => pick(history.length)}>
            Back to now
          </button>
        </div>
      )}
      <ol className="timeline" data-testid="timeline">
        {rows
          .map((r) => (
            <li key={r.steps} className={r.steps <= steps ? 'reached' : 'ahead'}>
              <button onClick={() => pick(r.steps)} title="Show the document as it was after this">
                <span className="dot" style={{ backgroundColor: r.author.color }} />
                <span className="who">{r.author.name}</span>
                <span className="what">
                  {r.inserted > 0 && `+${r.inserted}`} {r.deleted > 0 && `−${r.deleted}`}
                </span>
                <span className="when">{when(r.to)}</span>
              </button>
            </li>
          ))
          .reverse()}
      </ol>
    </section>
  )
}
