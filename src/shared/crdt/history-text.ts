/**
 * Gives a decoded op log back the text its stored form leaves out. A text state keeps each
 * character's text once (positional-chunk.ts): in the visible text while the character is visible,
 * and with the delete that removed it (`DeleteOp.removed`) once it is not. So the text of an insert
 * stored without it is found character by character, and so is what a delete stored before deletes
 * kept it removed (older chunks keep the text with the inserts instead).
 *
 * Which delete removed a character is the first one in the log that names it: the log is in the order
 * ops were applied, and a delete of a character already deleted removes nothing. (Counters a delete
 * names that are no character, as only a faulty peer's may, are skipped as `integrateDelete` skips
 * them.) A delete's `removed` holds its characters in counter order.
 *
 * Everything is checked: a delete's text must match what it removed, and every character must get
 * its text from somewhere; else CrdtDecodeError (a damaged history), and no op is changed.
 */
import { isTextless } from './positional-chunk'
import type { DeleteOp, InsertOp, TextOp } from './ops'
import { CrdtDecodeError } from './types'

/**
 * Counters a history may hold in all for it to be decoded: its characters must fit in strings and, for
 * `restoreHistoryText`, in per-counter arrays (3 B each).
 */
const MAX_COUNTERS = 2 ** 28
const IS_CHAR = 1
const DELETED = 2
const KNOWN = 4

/** Refuses (CrdtDecodeError) a history too large to decode: one whose characters no string could hold. */
export function checkHistorySize(versions: readonly number[]): void {
  const total = versions.reduce((n, v) => n + v, 0)
  if (total > MAX_COUNTERS) throw new CrdtDecodeError(`a history of ${total} counters is too large to decode`)
}

/** A document's visible characters: their runs of IDs in document order, and their text. */
export interface VisibleText {
  readonly runs: (visit: (agent: number, counter: number, length: number) => void) => void
  readonly text: string
}

/**
 * Fills the text of every textless insert in `log` and the `removed` of every delete that lacks it.
 * `versions`: per agent, the highest counter in the log. `visible`: the visible characters as runs in
 * document order (agent, counter, length) and their text, when the log has textless inserts.
 */
export function restoreHistoryText(
  log: readonly TextOp[],
  versions: readonly number[],
  visible: VisibleText | null,
  /** The inserts without their text, if the caller has given them placeholders for a replay. */
  textless: readonly InsertOp[] = log.filter(isTextless),
): void {
  checkHistorySize(versions)
  const units = versions.map((v) => new Uint16Array(v + 1))
  const state = versions.map((v) => new Uint8Array(v + 1))
  const without = new Set<TextOp>(textless)
  // Inserts' own text is needed only to find what a delete that does not say removed.
  const needInsertText = log.some((op) => op.kind === 1 && op.removed === null)
  const unknown: { op: DeleteOp; agent: number; runs: number[] }[] = []
  const inRange = (agent: number, counter: number, length: number): boolean =>
    agent >= 0 && agent < versions.length && counter >= 1 && counter + length - 1 <= versions[agent]!

  for (const op of log) {
    if (op.kind === 0) {
      if (!inRange(op.agent, op.counter, op.length)) throw new CrdtDecodeError('an insert beyond the version')
      const s = state[op.agent]!
      const u = units[op.agent]!
      if (without.has(op) || !needInsertText) {
        s.fill(IS_CHAR, op.counter, op.counter + op.length)
        continue
      }
      const text = op.text
      for (let k = 0; k < op.length; k++) {
        s[op.counter + k] = IS_CHAR | KNOWN
        u[op.counter + k] = text.charCodeAt(k)
      }
      continue
    }
    const agent = op.targetAgent
    if (agent < 0 || agent >= versions.length) throw new CrdtDecodeError('a delete of an unknown replica')
    const s = state[agent]!
    const u = units[agent]!
    const end = Math.min(op.targetCounter + op.length, versions[agent]! + 1)
    const gone = op.removed
    // The counters it removed, as runs (start, end): a delete of a 10 MB paste is one run.
    const runs: number[] = []
    let count = 0
    for (let c = Math.max(1, op.targetCounter); c < end; c++) {
      if ((s[c]! & (IS_CHAR | DELETED)) !== IS_CHAR) continue
      if (gone !== null) {
        if (count >= gone.length) throw new CrdtDecodeError('a delete in the stored history lacks text')
        u[c] = gone.charCodeAt(count)
        s[c] = IS_CHAR | DELETED | KNOWN
      } else {
        s[c]! |= DELETED
        if (runs.length > 0 && runs[runs.length - 1] === c) runs[runs.length - 1] = c + 1
        else runs.push(c, c + 1)
      }
      count++
    }
    if (gone === null) unknown.push({ op, agent, runs })
    else if (count !== gone.length)
      throw new CrdtDecodeError('a delete in the stored history has text it did not remove')
  }

  if (visible !== null) {
    const text = visible.text
    let at = 0
    visible.runs((agent, counter, length) => {
      if (!inRange(agent, counter, length) || at + length > text.length) {
        throw new CrdtDecodeError('the stored history does not rebuild the visible text')
      }
      const s = state[agent]!
      const u = units[agent]!
      for (let k = 0; k < length; k++) {
        if ((s[counter + k]! & (IS_CHAR | DELETED)) !== IS_CHAR) {
          throw new CrdtDecodeError('a visible character the stored history deleted')
        }
        s[counter + k]! |= KNOWN
        u[counter + k] = text.charCodeAt(at++)
      }
    })
    if (at !== text.length) throw new CrdtDecodeError('the stored history does not rebuild the visible text')
  }

  // All checked: only now is any op changed.
  const texts: (string | undefined)[] = []
  /** The text of counters `from` … `from + length - 1` of `agent`, every one known, else CrdtDecodeError. */
  const textOf = (agent: number, from: number, length: number): string => {
    const s = state[agent]!
    for (let c = from; c < from + length; c++) {
      if (!(s[c]! & KNOWN)) throw new CrdtDecodeError('the stored history lacks the text of a character')
    }
    // Each replica's characters as one string, once: an op's text is then a slice of it.
    return (texts[agent] ??= unitsToString(units[agent]!)).slice(from, from + length)
  }
  const found = textless.map((op) => textOf(op.agent, op.counter, op.length))
  const removedTexts = unknown.map(({ agent, runs }) => {
    const parts: string[] = []
    for (let i = 0; i < runs.length; i += 2) parts.push(textOf(agent, runs[i]!, runs[i + 1]! - runs[i]!))
    return parts.join('')
  })
  textless.forEach((op, i) => (op.text = found[i]!))
  unknown.forEach(({ op }, i) => (op.removed = removedTexts[i]!))
}

/** UTF-16 code units as a string, lone surrogates kept (TextDecoder would replace them). */
function unitsToString(units: Uint16Array): string {
  const parts: string[] = []
  for (let at = 0; at < units.length; at += 8192) {
    // apply takes the typed array as it is; a spread would walk it through its iterator.
    const chunk = units.subarray(at, Math.min(units.length, at + 8192)) as unknown as number[]
    parts.push(String.fromCharCode.apply(null, chunk))
  }
  return parts.join('')
}

/** `length` characters that stand for unknown ones in a replay (one string, sliced: no copy each time). */
export function placeholder(length: number): string {
  if (PLACEHOLDER.length < length) PLACEHOLDER = 'x'.repeat(Math.max(length, PLACEHOLDER.length * 2))
  return PLACEHOLDER.slice(0, length)
}
let PLACEHOLDER = 'x'.repeat(1024)

/**
 * Each character's text as pieces, from a replay of the history (text-doc.ts `restoreText`): what each
 * delete removed (its runs of counters, in counter order, and its `removed` text) and the visible text
 * (the replay's visible runs, in document order). Each character is in exactly one piece, so an
 * insert's text is the pieces its counters fall in, joined: a few slices, where `restoreHistoryText`
 * visits every character. Used when every delete has its text (a history of form 3).
 */
export class TextPieces {
  /** Per agent: piece starts (counters), ends, and texts, in the order added. */
  private readonly starts: number[][]
  private readonly ends: number[][]
  private readonly texts: string[][]
  /** A delete without its text was replayed: `restoreHistoryText` must do the work instead. */
  unknown = false

  constructor(agents: number) {
    this.starts = Array.from({ length: agents }, () => [])
    this.ends = Array.from({ length: agents }, () => [])
    this.texts = Array.from({ length: agents }, () => [])
  }

  private add(agent: number, counter: number, length: number, text: string): void {
    this.starts[agent]!.push(counter)
    this.ends[agent]!.push(counter + length)
    this.texts[agent]!.push(text)
  }

  /** What `op` removed: `runs` (counter, length, …) of its target, its `removed` text in that order. */
  addRemoved(op: DeleteOp, runs: readonly number[]): void {
    const gone = op.removed
    if (gone === null) {
      this.unknown = true
      return
    }
    let at = 0
    for (let i = 0; i < runs.length; i += 2) {
      const length = runs[i + 1]!
      if (at + length > gone.length) throw new CrdtDecodeError('a delete in the stored history lacks text')
      this.add(op.targetAgent, runs[i]!, length, gone.slice(at, (at += length)))
    }
    if (at !== gone.length)
      throw new CrdtDecodeError('a delete in the stored history has text it did not remove')
  }

  addVisible(visible: VisibleText): void {
    const text = visible.text
    let at = 0
    visible.runs((agent, counter, length) => {
      if (at + length > text.length)
        throw new CrdtDecodeError('the stored history does not rebuild the visible text')
      this.add(agent, counter, length, text.slice(at, (at += length)))
    })
    if (at !== text.length) throw new CrdtDecodeError('the stored history does not rebuild the visible text')
  }

  /** Gives each op its text from the pieces (all checked first: CrdtDecodeError, nothing changed). */
  fill(textless: readonly InsertOp[]): void {
    // Per agent, the pieces in counter order.
    const order = this.starts.map((starts) => {
      const index = Array.from(starts.keys())
      return index.sort((a, b) => starts[a]! - starts[b]!)
    })
    const found = textless.map((op) => {
      const starts = this.starts[op.agent]!
      const ends = this.ends[op.agent]!
      const texts = this.texts[op.agent]!
      const sorted = order[op.agent]!
      const end = op.counter + op.length
      // The last piece that starts at or before the op's first counter.
      let lo = 0
      let hi = sorted.length - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        if (starts[sorted[mid]!]! <= op.counter) lo = mid
        else hi = mid - 1
      }
      const parts: string[] = []
      let at = op.counter
      for (let k = lo; at < end; k++) {
        const p = sorted[k]
        if (p === undefined || starts[p]! > at || ends[p]! <= at) {
          throw new CrdtDecodeError('the stored history lacks the text of a character')
        }
        const to = Math.min(ends[p]!, end)
        parts.push(texts[p]!.slice(at - starts[p]!, to - starts[p]!))
        at = to
      }
      return parts.length === 1 ? parts[0]! : parts.join('')
    })
    textless.forEach((op, i) => (op.text = found[i]!))
  }
}
