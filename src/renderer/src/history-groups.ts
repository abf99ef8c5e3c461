/**
 * The History panel's versions: the op history cut into groups of consecutive edits by one person,
 * close together in time. The slider steps by them and the timeline lists them, from this one rule.
 */
import type { AuthorInfo } from '../../shared/api'
import type { HistoryEntry } from '../../shared/crdt'
import { authorAt } from './collab/authorship'

export interface HistoryGroup {
  /** History entries up to and including this group: `textAfter(steps)` is the version it ends. */
  readonly steps: number
  readonly author: AuthorInfo
  /** When its first and last edits were made (seconds since the epoch; 0 unknown). */
  readonly from: number
  readonly to: number
  readonly inserted: number
  readonly deleted: number
}

/** Edits further apart than this start a new group, even by the same person. */
const GAP_S = 5 * 60

export function historyGroups(
  history: readonly HistoryEntry[],
  authors: Readonly<Record<string, AuthorInfo>>,
): HistoryGroup[] {
  const out: HistoryGroup[] = []
  let open: {
    steps: number
    author: AuthorInfo
    from: number
    to: number
    inserted: number
    deleted: number
  } | null = null
  history.forEach((entry, i) => {
    const author = authorAt(authors, entry.replica, entry.counter)
    // An author not known yet is nobody in particular: their edits are not joined to anyone's.
    if (
      open &&
      open.author.device === author.device &&
      open.author.name === author.name && // (what another member attests is its own group)
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

/** The history entries that make version `k` (the first k groups; 0 is the empty document). */
export const stepsOf = (groups: readonly HistoryGroup[], k: number): number =>
  k === 0 ? 0 : groups[k - 1]!.steps

export const when = (s: number): string => (s > 0 ? new Date(s * 1000).toLocaleString() : 'unknown time')

/** "Version k of n", as the slider and the notices name a version. */
export const versionName = (k: number, n: number): string => `Version ${k} of ${n}`
