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
import { ByteWriter } from './bytes'
import { BLOCK_COUNTERS, blockOf, DROPPED_UNIT } from './op-stream'
import type { DeleteOp, InsertOp, TextOp } from './ops'

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
  // A byte per counter and a time per block: a history of 20 M counters takes 20 MB here, once.
  const flags = versions.map((v) => new Uint8Array(v + 1))
  const deletedAt = versions.map((v) => new Float64Array(Math.ceil(v / BLOCK_COUNTERS)))
  markChars(log, flags, (op, c) => {
    const at = deletedAt[op.targetAgent]!
    const block = blockOf(c)
    if (op.time > at[block]!) at[block] = op.time
  })
  const candidates: DropCandidate[] = []
  let deletedChars = 0
  versions.forEach((seen, agent) => {
    const f = flags[agent]!
    const gone = dropped.get(agent)
    for (let block = 0; block * BLOCK_COUNTERS < seen; block++) {
      if (gone?.has(block)) continue
      const from = block * BLOCK_COUNTERS + 1
      const to = Math.min(seen, (block + 1) * BLOCK_COUNTERS)
      let n = 0
      let deleted = 0
      for (let c = from; c <= to; c++) {
        if (!(f[c]! & IS_CHAR)) continue
        n++
        if (f[c]! & DELETED) deleted++
      }
      deletedChars += deleted
      // A block still growing (its replica may type on into it) or with a character visible stays.
      if (n > 0 && deleted === n && to === (block + 1) * BLOCK_COUNTERS)
        candidates.push({ agent, block, deletedAt: deletedAt[agent]![block]!, chars: n })
    }
  })
  return { candidates, deletedChars }
}

const IS_CHAR = 1
const DELETED = 2

/**
 * Marks in `flags` (per agent, a byte per counter) which counters are characters and which of them are
 * deleted, going through `log` in order; `removes` is called for each character a delete removes (the
 * first delete that names it: a later one removes nothing), in counter order. Agents without flags are
 * passed over.
 */
function markChars(
  log: readonly TextOp[],
  flags: readonly (Uint8Array | undefined)[],
  removes: (op: DeleteOp, counter: number) => void,
): void {
  for (const op of log) {
    if (op.kind === 0) {
      flags[op.agent]?.fill(IS_CHAR, op.counter, op.counter + op.length)
      continue
    }
    const f = flags[op.targetAgent]
    if (!f) continue
    const end = Math.min(op.targetCounter + op.length, f.length)
    for (let c = Math.max(1, op.targetCounter); c < end; c++) {
      if (f[c] !== IS_CHAR) continue
      f[c] = IS_CHAR | DELETED
      removes(op, c)
    }
  }
}

/**
 * Drops the text of `blocks` from `log` (decoded, every insert with its text): each block's units are
 * hashed with `hash` (SHA-256 of UTF-16 LE, as the block form hashes them), then replaced by
 * DROPPED_UNIT in the inserts, and the deletes that removed them say so. Returns the hashes, per
 * agent, and the ops changed.
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
  // Each chosen block's units, UTF-16 LE in counter order (a block's inserts are its replica's, in order).
  const units = new Map<string, ByteWriter>()
  for (const op of log) {
    if (op.kind !== 0 || !hit(op.agent, op.counter, op.counter + op.length - 1)) continue
    const set = chosen.get(op.agent)!
    const parts: string[] = []
    const last = op.counter + op.length - 1
    // Piece by piece, a block at a time: an import of 10 MB may have one block dropped.
    for (let c = op.counter; c <= last;) {
      const block = blockOf(c)
      const end = Math.min(last, (block + 1) * BLOCK_COUNTERS)
      const [a, b] = [c - op.counter, end - op.counter + 1]
      if (set.has(block)) {
        const key = `${op.agent}:${block}`
        let w = units.get(key)
        if (!w) units.set(key, (w = new ByteWriter(2 * BLOCK_COUNTERS)))
        w.utf16(op.text, a, b)
        parts.push(DROPPED_UNIT.repeat(b - a))
      } else parts.push(op.text.slice(a, b))
      c = end + 1
    }
    ;(op as InsertOp).text = parts.join('')
    changed.add(op)
  }
  const out = new Map<number, Map<number, Uint8Array>>()
  for (const { agent, block } of blocks) {
    const bytes = units.get(`${agent}:${block}`)?.view() ?? new Uint8Array(0)
    const kept = out.get(agent) ?? new Map<number, Uint8Array>()
    out.set(agent, kept.set(block, hash(bytes)))
  }
  // What each delete of them removed says so too: its k-th character is the k-th it removed. (A
  // delete decoded from a history stored before deletes kept their text has none to change: its text
  // is found from the inserts', placeholders now, when a save needs it.)
  const flags = versions.map((v, agent) => (chosen.has(agent) ? new Uint8Array(v + 1) : undefined))
  const positions = new Map<DeleteOp, { k: number; at: number[] }>()
  const passed = new Set<DeleteOp>()
  markChars(log, flags, (op, c) => {
    let p = positions.get(op)
    if (!p) {
      if (passed.has(op)) return
      if (op.removed === null || !hit(op.targetAgent, op.targetCounter, op.targetCounter + op.length - 1)) {
        passed.add(op)
        return
      }
      positions.set(op, (p = { k: 0, at: [] }))
    }
    if (chosen.get(op.targetAgent)!.has(blockOf(c))) p.at.push(p.k)
    p.k++
  })
  for (const [op, { at }] of positions) {
    if (at.length === 0) continue
    const units = op.removed!.split('') // UTF-16 units, as the counters count them
    for (const k of at) units[k] = DROPPED_UNIT
    op.removed = units.join('')
    changed.add(op)
  }
  return { hashes: out, changed }
}
