/**
 * Restoring a past version as the smallest edit: a diff against the current text (src/shared/text-diff,
 * as a file changed on disk is merged), so text the version shares with now keeps its identity, and
 * with it its authorship, everyone's cursors on it and what Undo gives back. What the restore removes
 * is counted by whose text it was, for the notice those people get.
 */
import { isolateHistory } from '@codemirror/commands'
import type { EditorView } from '@codemirror/view'
import type { AuthorInfo, RestoreReport } from '../../../shared/api'
import type { TextDoc } from '../../../shared/crdt'
import { diffHunks } from '../../../shared/text-diff'

/** How many characters in `ranges` (ascending, not overlapping) each device wrote, by device key. */
export function charsByDevice(
  replica: TextDoc,
  ranges: readonly { from: number; to: number }[],
  authors: Readonly<Record<string, AuthorInfo>>,
): Record<string, number> {
  const out: Record<string, number> = {}
  let at = 0
  let i = 0
  for (const run of replica.authorRuns()) {
    const from = at
    const to = (at += run.length)
    while (i < ranges.length && ranges[i]!.to <= from) i++
    const device = authors[run.replica]?.device
    // Every range that overlaps this run (a range may span several runs, a run several ranges).
    for (let j = i; j < ranges.length && ranges[j]!.from < to; j++) {
      const overlap = Math.min(to, ranges[j]!.to) - Math.max(from, ranges[j]!.from)
      if (device && overlap > 0) out[device] = (out[device] ?? 0) + overlap
    }
    if (i === ranges.length) break
  }
  return out
}

/**
 * Makes `text` the editor's text with the fewest changes (one transaction, so one Undo takes it back)
 * and returns whose text it removed, by device.
 */
export function restoreText(
  view: EditorView,
  replica: TextDoc,
  text: string,
  authors: Readonly<Record<string, AuthorInfo>>,
): RestoreReport['removed'] {
  const hunks = diffHunks(view.state.doc.toString(), text)
  const removed = charsByDevice(
    replica,
    hunks.filter((h) => h.deleteCount > 0).map((h) => ({ from: h.index, to: h.index + h.deleteCount })),
    authors,
  )
  view.dispatch({
    changes: hunks.map((h) => ({ from: h.index, to: h.index + h.deleteCount, insert: h.insert })),
    userEvent: 'input.restore',
    // Its own Undo step: never joined to typing just before it.
    annotations: isolateHistory.of('full'),
    scrollIntoView: true,
  })
  return removed
}
