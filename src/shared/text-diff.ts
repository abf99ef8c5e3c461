/**
 * The minimal edits between two texts, as hunks in ascending order: for merging a file changed on disk
 * (src/main/storage/disk-merge.ts) and for restoring a past version in the editor, where small edits
 * keep unchanged text's identity (and everyone's cursors and authorship on it).
 */
import { diffChars, diffLines, type ChangeObject } from 'diff'

export interface Hunk {
  /** Position in the old text. */
  readonly index: number
  readonly deleteCount: number
  readonly insert: string
}

/** Texts up to this size in their differing middle are diffed per character, larger ones per line. */
const CHAR_DIFF_LIMIT = 20_000
const DIFF_TIMEOUT_MS = 500

/**
 * The hunks that turn `oldText` into `newText`, in ascending order. Fast on big files: the common prefix
 * and suffix are cut first (most external changes touch one region), the rest is diffed per line, and
 * each replaced block of lines is refined per character when small. If a diff gives up (timeout), the
 * region is replaced as a whole, which is still correct, only coarser.
 */
export function diffHunks(oldText: string, newText: string): Hunk[] {
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
  return diffRegion(a, b).map((h) => ({ ...h, index: h.index + start }))
}

function diffRegion(a: string, b: string): Hunk[] {
  if (a.length + b.length <= CHAR_DIFF_LIMIT) {
    const changes = diffChars(a, b, { timeout: DIFF_TIMEOUT_MS })
    return changes ? toHunks(changes) : [{ index: 0, deleteCount: a.length, insert: b }]
  }
  const lines = diffLines(a, b, { timeout: DIFF_TIMEOUT_MS })
  if (!lines) return [{ index: 0, deleteCount: a.length, insert: b }]
  const hunks: Hunk[] = []
  for (const h of toHunks(lines)) {
    const refined =
      h.deleteCount + h.insert.length <= CHAR_DIFF_LIMIT && h.deleteCount > 0 && h.insert.length > 0
    if (!refined) hunks.push(h)
    else {
      const inner = diffChars(a.slice(h.index, h.index + h.deleteCount), h.insert, {
        timeout: DIFF_TIMEOUT_MS,
      })
      if (inner) hunks.push(...toHunks(inner).map((x) => ({ ...x, index: x.index + h.index })))
      else hunks.push(h)
    }
  }
  return hunks
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
