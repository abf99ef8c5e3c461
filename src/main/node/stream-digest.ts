/**
 * The running digest of one replica's op stream, in either form a seal may sign (op-stream.ts):
 *
 * - form 1, every unit inside its entry: seals made before the block form, still checked as they are;
 * - form 2, the block form: the structure hashed as it is written, each block's units hashed at its end
 *   (SHA-256 of its UTF-16 LE units) into the structure after BLOCK_MARK. The digest at a counter
 *   inside a block is the structure's hash extended by BLOCK_MARK and the hash of the units so far, so
 *   a seal can end anywhere. A block whose text was dropped (`DroppedBlocks`) gives its kept hash.
 *
 * A state is extended by ops (`extend`), copied before a trial (`copyDigest`), and saved with a
 * document's checkpoints (`saveDigest`, form 2 and a resumable hash only).
 */
import { createHash } from 'node:crypto'
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import type { TextOp } from '../../shared/crdt/ops'
import {
  BLOCK_COUNTERS,
  BLOCK_MARK,
  STREAM_SPILL_BYTES,
  writeBlockStream,
  writeOpStream,
  type DroppedBlocks,
  type StreamCursor,
} from '../../shared/crdt/op-stream'
import { nativeHash, resumableHash, type StreamHash } from './stream-hash'

/** Which digest a seal signs: 1 the first form, 2 the block form (the one this node signs). */
export type SealForm = 1 | 2
export const CURRENT_FORM: SealForm = 2

export type { DroppedBlocks } from '../../shared/crdt/op-stream'

export interface StreamDigest {
  readonly form: SealForm
  hash: StreamHash
  cursor: StreamCursor
  /** Form 2: the units of the block the cursor is in, written so far. */
  units: Uint8Array
}

const NO_UNITS = new Uint8Array(0)

export function freshDigest(form: SealForm, resumable: boolean): StreamDigest {
  const hash = (resumable && resumableHash()) || nativeHash()
  return { form, hash, cursor: { counter: 0, lastRight: null }, units: NO_UNITS }
}

export function copyDigest(d: StreamDigest): StreamDigest {
  return { form: d.form, hash: d.hash.copy(), cursor: { ...d.cursor }, units: d.units }
}

/** The SHA-256 of a block's units. */
export function blockHash(units: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(units).digest())
}

/** The digest of the stream as far as `d` has been extended. */
export function digestValue(d: StreamDigest): Uint8Array {
  if (d.form === 1 || d.cursor.counter % BLOCK_COUNTERS === 0) return d.hash.digest()
  const h = d.hash.copy()
  h.update(MARK)
  h.update(blockHash(d.units))
  return h.digest()
}

const MARK = new Uint8Array([BLOCK_MARK])

/**
 * One pair of writers for every stream hashed in this process (hashing is synchronous, so never two at
 * once): a fresh writer a stream grew from 1 KB to the stream's size, and a shared folder's 2,000 files
 * made ~250 MB of buffers on each side of a join, all garbage at once.
 */
const scratch = new ByteWriter(64 * 1024)
const blockUnits = new ByteWriter(2 * BLOCK_COUNTERS)

/**
 * Extends `d` over `agent`'s ops up to `until` (see `writeOpStream`); false at the first gap, with the
 * counters before it hashed. `dropped` gives the hashes of blocks whose units these ops no longer hold.
 */
export function extend(
  d: StreamDigest,
  ids: readonly string[],
  ops: readonly TextOp[],
  agent: number,
  until: number,
  dropped?: DroppedBlocks,
): boolean {
  const hash = d.hash
  const spill = (): void => {
    if (scratch.length < STREAM_SPILL_BYTES) return
    hash.update(scratch.view())
    scratch.reset(STREAM_SPILL_BYTES * 4)
  }
  try {
    if (d.form === 1) {
      const reached = writeOpStream(scratch, ids, ops, agent, d.cursor, until, (b) => hash.update(b))
      hash.update(scratch.view())
      return reached
    }
    blockUnits.bytes(d.units)
    const reached = writeBlockStream(
      {
        struct: scratch,
        units: blockUnits,
        endBlock(block) {
          scratch.byte(BLOCK_MARK)
          scratch.bytes(dropped?.get(block) ?? blockHash(blockUnits.view()))
          blockUnits.reset()
        },
        spill,
      },
      ids,
      ops,
      agent,
      d.cursor,
      until,
    )
    hash.update(scratch.view())
    d.units = blockUnits.length === 0 ? NO_UNITS : blockUnits.finish()
    return reached
  } finally {
    scratch.reset(STREAM_SPILL_BYTES * 4)
    blockUnits.reset()
  }
}

/** A form-2 state's bytes to keep (its hash state and block units); null if its hash cannot be saved. */
export function saveDigest(d: StreamDigest): Uint8Array | null {
  const state = d.form === 2 ? d.hash.save() : null
  if (!state) return null
  const w = new ByteWriter(16 + state.length + d.units.length)
  w.uint(state.length)
  w.bytes(state)
  w.uint(d.units.length)
  w.bytes(d.units)
  return w.finish()
}

/** A form-2 state from `saveDigest`'s bytes, at `cursor`; null if they are not one (damaged, another build). */
export function loadDigest(bytes: Uint8Array, cursor: StreamCursor): StreamDigest | null {
  try {
    const r = new ByteReader(bytes)
    const hash = resumableHash(r.bytes(r.uint()))
    const units = r.bytes(r.uint()).slice()
    if (!hash || !r.done() || units.length > 2 * (cursor.counter % BLOCK_COUNTERS)) return null
    return { form: 2, hash, cursor: { ...cursor }, units }
  } catch {
    return null
  }
}
