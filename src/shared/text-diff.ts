/**
 * The minimal edits between two texts, as hunks in ascending order: for merging a file changed on disk
 * (src/main/storage/disk-merge.ts) and for restoring a past version in the editor, where small edits
 * keep unchanged text's identity (and everyone's cursors and authorship on it).
 */
import { diffChars, diffLines, diffWordsWithSpace, type ChangeObject } from 'diff'

export interface Hunk {
  /** Position in the old text. */
  readonly index: number
  readonly deleteCount: number
  readonly insert: string
}

type Differ = (a: string, b: string, options: { timeout: number }) => ChangeObject<string>[] | undefined

/**
 * From finest to coarsest, each with the largest region (old plus new length) it is tried on. A
 * coarser diff's replaced blocks are refined with the finer ones, so a long line (a paragraph, a
 * minified file) or a region too changed for a character diff in time still comes out as small edits:
 * a whole-region replace would make every character of it new, credited to whoever restored or merged.
 */
const LEVELS: readonly { readonly diff: Differ; readonly limit: number }[] = [
  { diff: diffChars, limit: 20_000 },
  { diff: diffWordsWithSpace, limit: 400_000 },
  { diff: diffLines, limit: Infinity },
]
/** The time all the diffs of one call may take together; past it, what is left is replaced whole. */
const DIFF_BUDGET_MS = 1000

/**
 * The hunks that turn `oldText` into `newText`, in ascending order. Fast on big files: the common prefix
 * and suffix are cut first (most external changes touch one region), then the rest is diffed at the
 * finest level its size allows (characters, words, lines) and each replaced block refined at the finer
 * levels. If the diffs run out of time (`budgetMs` for the whole call), a block is replaced as a whole,
 * which is still correct, only coarser.
 */
export function diffHunks(oldText: string, newText: string, budgetMs = DIFF_BUDGET_MS): Hunk[] {
  let start = 0
  const max = Math.min(oldText.length, newText.length)
  while (start < max && oldText.charCodeAt(start) === newText.charCodeAt(start)) start++
  if (start > 0 && isHighSurrogate(oldText.charCodeAt(start - 1))) start--
  let end = 0
  while (
    end < max - start &&
    oldText.charCodeAt(oldText.length - 1 - end) === newText.charCodeAt(newText.length - 1 - end)
  ) {
    end++
  }
  if (end > 0 && isLowSurrogate(oldText.charCodeAt(oldText.length - end))) end--
  const a = oldText.slice(start, oldText.length - end)
  const b = newText.slice(start, newText.length - end)
  if (a === b) return []
  // One side empty: the only edit is the whole region. A diff would still tokenize the other side
  // (a shared folder's every new file: 40 of 104 s to share 2,000 files, issue 15).
  if (a === '' || b === '') return [{ index: start, deleteCount: a.length, insert: b }]
  const deadline = Date.now() + budgetMs
  const hunks = diffAt(a, b, LEVELS.length - 1, deadline) ?? [{ index: 0, deleteCount: a.length, insert: b }]
  return hunks.map((h) => ({ ...h, index: h.index + start }))
}

/**
 * The hunks from the finest level up to `coarsest` that fits the region and finishes in time, with
 * each block it replaces refined at the levels below it; null if no level could diff it.
 */
function diffAt(a: string, b: string, coarsest: number, deadline: number): Hunk[] | null {
  for (let level = 0; level <= coarsest; level++) {
    const { diff, limit } = LEVELS[level]!
    const timeout = Math.floor(deadline - Date.now())
    if (timeout <= 0) return null
    if (a.length + b.length > limit) continue
    const changes = diff(a, b, { timeout })
    if (!changes) continue
    if (level === 0) return toHunks(changes)
    return toHunks(changes).flatMap((h) => {
      if (h.deleteCount === 0 || h.insert.length === 0) return [h]
      const inner = diffAt(a.slice(h.index, h.index + h.deleteCount), h.insert, level - 1, deadline)
      return inner ? inner.map((x) => ({ ...x, index: x.index + h.index })) : [h]
    })
  }
  return null
}

/** Adjacent removed/added change objects become one hunk positioned in the old text. */
function toHunks(changes: readonly ChangeObject<string>[]): Hunk[] {
  const hunks: Hunk[] = []
  let at = 0
  let open: { index: number; deleteCount: number; insert: string } | null = null
  for (const c of changes) {
    if (!c.added && !c.removed) {
      if (open) hunks.push(open)
      open = null
      at += c.value.length
      continue
    }
    open ??= { index: at, deleteCount: 0, insert: '' }
    if (c.removed) {
      open.deleteCount += c.value.length
      at += c.value.length
    } else open.insert += c.value
  }
  if (open) hunks.push(open)
  return hunks
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff
