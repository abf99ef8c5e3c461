/**
 * Dropping the text of long-deleted characters, block by block (a retention policy's work): the IDs
 * stay (tombstones, and every op with its origins and targets, so that any peer, however far behind,
 * converges), and so does each block's hash, which a seal's digest commits to (op-stream.ts, the block
 * form). Only whole blocks whose every character is deleted can go, so a relay that names a block
 * dropped cannot blank text that is visible (TextDoc takes such a block only with deletes of all of it).
 *
 * `findDroppable` reads a decoded log (its inserts with their text) for the blocks that could go;
 * `dropBlocks` puts DROPPED_UNIT in place of their text, in the inserts and in what each delete removed.
 */
import { restoreHistoryText } from './history-text'
import { BLOCK_COUNTERS, blockOf, DROPPED_UNIT } from './op-stream'
import type { InsertOp, TextOp } from './ops'

/** A block whose every character is deleted: what a policy chooses from. */
export interface DropCandidate {
  readonly agent: number
  readonly block: number
  /** When its last character was deleted (seconds since the epoch; 0 unknown). */
  readonly deletedAt: number
  /** Characters in it (its counters that are inserts). */
  readonly chars: number
}

export interface Droppable {
  readonly candidates: DropCandidate[]
  /** Characters deleted whose text is still kept, in all (candidates or not). */
  readonly deletedChars: number
}

/**
 * The whole blocks of `log` whose every character is deleted and whose text is still here. `versions`:
 * per agent, its highest counter (a block must end at or before it); `dropped`: per agent, the blocks
 * already dropped.
 */
export function findDroppable(
  log: readonly TextOp[],
  versions: readonly number[],
  dropped: ReadonlyMap<number, ReadonlyMap<number, unknown>>,
): Droppable {
  const chars = versions.map((v) => new Uint8Array(v + 1))
  const deletedAt = versions.map((v) => new Uint32Array(v + 1))
  for (const op of log) {
    if (op.kind === 0) {
      chars[op.agent]!.fill(1, op.counter, op.counter + op.length)
      continue
    }
    const at = deletedAt[op.targetAgent]
    if (!at) continue
    const end = Math.min(op.targetCounter + op.length, at.length)
    for (let c = Math.max(1, op.targetCounter); c < end; c++) if (at[c] === 0) at[c] = Math.max(1, op.time)
  }
  const candidates: DropCandidate[] = []
  let deletedChars = 0
  versions.forEach((seen, agent) => {
    const isChar = chars[agent]!
    const at = deletedAt[agent]!
    const gone = dropped.get(agent)
    for (let block = 0; block * BLOCK_COUNTERS < seen; block++) {
      if (gone?.has(block)) continue
      const from = block * BLOCK_COUNTERS + 1
      const to = Math.min(seen, (block + 1) * BLOCK_COUNTERS)
      let n = 0
      let deleted = 0
      let last = 0
      for (let c = from; c <= to; c++) {
        if (isChar[c] === 0) continue
        n++
        if (at[c] === 0) continue
        deleted++
        if (at[c]! > last) last = at[c]!
      }
      deletedChars += deleted
      // A block still growing (its replica may type on into it) or with a character visible stays.
      if (n > 0 && deleted === n && to === (block + 1) * BLOCK_COUNTERS)
        candidates.push({ agent, block, deletedAt: last === 1 ? 0 : last, chars: n })
    }
  })
  return { candidates, deletedChars }
}

/**
 * Drops the text of `blocks` from `log` (decoded, every insert with its text): each block's units are
 * hashed with `hash` (SHA-256 of UTF-16 LE, as the block form hashes them), then replaced by
 * DROPPED_UNIT in the inserts, and the deletes that removed them say so. Returns the hashes, per
 * agent, and the ops changed. Throws CrdtDecodeError, as restoreHistoryText does, if the log is not
 * whole.
 */
export function dropBlocks(
  log: readonly TextOp[],
  versions: readonly number[],
  blocks: readonly Pick<DropCandidate, 'agent' | 'block'>[],
  hash: (units: Uint8Array) => Uint8Array,
): { hashes: Map<number, Map<number, Uint8Array>>; changed: Set<TextOp> } {
  const changed = new Set<TextOp>()
  const chosen = new Map<number, Set<number>>()
  for (const { agent, block } of blocks) {
    const set = chosen.get(agent) ?? new Set<number>()
    chosen.set(agent, set.add(block))
  }
  const hit = (agent: number, from: number, to: number): boolean => {
    const set = chosen.get(agent)
    if (!set) return false
    for (let k = blockOf(from); k <= blockOf(to); k++) if (set.has(k)) return true
    return false
  }
  // Each chosen block's units, in counter order (a block's inserts are its replica's, in order).
  const units = new Map<string, number[]>()
  for (const op of log) {
    if (op.kind !== 0 || !hit(op.agent, op.counter, op.counter + op.length - 1)) continue
    const set = chosen.get(op.agent)!
    const parts: string[] = []
    const last = op.counter + op.length - 1
    // Piece by piece, a block at a time: an import of 10 MB may have one block dropped.
    for (let c = op.counter; c <= last;) {
      const block = blockOf(c)
      const end = Math.min(last, (block + 1) * BLOCK_COUNTERS)
      const piece = op.text.slice(c - op.counter, end - op.counter + 1)
      if (set.has(block)) {
        const key = `${op.agent}:${block}`
        let list = units.get(key)
        if (!list) units.set(key, (list = []))
        for (let i = 0; i < piece.length; i++) list.push(piece.charCodeAt(i))
        parts.push(DROPPED_UNIT.repeat(piece.length))
      } else parts.push(piece)
      c = end + 1
    }
    ;(op as InsertOp).text = parts.join('')
    changed.add(op)
  }
  const out = new Map<number, Map<number, Uint8Array>>()
  for (const { agent, block } of blocks) {
    const list = units.get(`${agent}:${block}`) ?? []
    const bytes = new Uint8Array(list.length * 2)
    list.forEach((u, i) => {
      bytes[2 * i] = u & 0xff
      bytes[2 * i + 1] = u >>> 8
    })
    const kept = out.get(agent) ?? new Map<number, Uint8Array>()
    out.set(agent, kept.set(block, hash(bytes)))
  }
  // What each delete of them removed is found again, from the inserts' text: the placeholders now.
  for (const op of log) {
    if (op.kind === 1 && hit(op.targetAgent, op.targetCounter, op.targetCounter + op.length - 1)) {
      op.removed = null
      changed.add(op)
    }
  }
  restoreHistoryText(log, versions, null, [])
  return { hashes: out, changed }
}
