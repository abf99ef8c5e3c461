/**
 * Binary form of text ops, for batches (what peers send each other) and snapshots (`save()`).
 *
 *   header     kind (4 bits) | replica count, then the replica table (replica-table.ts)
 *   op count   varint
 *   ops        per op a flags byte, then only the fields the flags do not make implicit:
 *              agent (when it differs from the previous op's), counter (when it is not the next one
 *              expected for that agent), length, origins / delete target (delta-coded against the
 *              op's own counter when they name the same replica). In a snapshot, an op that was made
 *              on the saving replica is stored by the visible index it was made at instead (delta-coded
 *              against the previous one: typing is local, so mostly one byte); replaying it there
 *              recreates the same origins or targets.
 *   dropped    (kind 10 only, after the times) count | per block whose text was dropped: replica
 *              index, block, SHA-256 of its units (32 bytes): the inserts of such a block carry
 *              placeholders (op-stream.ts, "the block form"; src/main/storage/README.md)
 *   text       the inserted text of every op, concatenated, UTF-8
 *
 * In a snapshot the op section and the text are each deflated (fflate), their decoded sizes stated
 * first so inflation is bounded, and the ops parked for missing dependencies follow as one batch.
 *
 * A single typed character typically encodes in about 16 bytes, most of them the replica ID.
 */
import { deflateSync, inflateSync } from 'fflate'
import { ByteReader, ByteWriter, concatBytes, decodeUtf8 } from './bytes'
import { BLOCK_COUNTERS, blockOf, type DroppedBlocks } from './op-stream'
import { DeleteOp, InsertOp, type TextOp } from './ops'
import { readHeader, writeHeader } from './replica-table'
import { CrdtDecodeError } from './types'

/** No origin (see text-doc.ts on why it is not imported). */
const NONE = -1

export const KIND_TEXT_BATCH = 1
export const KIND_TEXT_SNAPSHOT = 2
/** A batch that also carries when each op was made (catch-up after being apart; not keystrokes). */
export const KIND_TEXT_BATCH_TIMED = 5
/** A timed batch that names blocks whose text was dropped (a catch-up from a node that dropped it). */
export const KIND_TEXT_BATCH_DROPPED = 10

const F_DELETE = 1
const F_SAME_AGENT = 2
const F_IMPLICIT_COUNTER = 4
// insert: left origin mode (bits 3-4), right origin mode (bits 5-6)
const OL_SHIFT = 3
export const OL_NONE = 0
export const OL_PREVIOUS = 1 // (own agent, counter - 1): the character typed just before
export const OL_SAME_AGENT = 2
export const OL_OTHER_AGENT = 3
const OR_SHIFT = 5
export const OR_NONE = 0
export const OR_SAME_AGENT = 1
export const OR_OTHER_AGENT = 2

/** How an insert's left origin is written: none, the character before it, its own replica's, another's. */
export function leftOriginMode(op: InsertOp): number {
  const l = op.originLeftAgent
  if (l === NONE) return OL_NONE
  if (l !== op.agent) return OL_OTHER_AGENT
  return op.originLeftCounter === op.counter - 1 ? OL_PREVIOUS : OL_SAME_AGENT
}

/** How an insert's right origin is written: none, its own replica's, another's. */
export function rightOriginMode(op: InsertOp): number {
  const r = op.originRightAgent
  return r === NONE ? OR_NONE : r === op.agent ? OR_SAME_AGENT : OR_OTHER_AGENT
}
// delete
const F_BACKWARD = 8
const F_TARGET_SAME_AGENT = 16
// snapshot only: an op made on the saving replica, stored by visible position instead of IDs
const F_INSERT_POSITIONAL = 0x80
const F_DELETE_POSITIONAL = 0x20
const RESERVED_DELETE = 0xc0

/** Largest expansion deflate can achieve; caps what a hostile snapshot can make us allocate. */
const MAX_DEFLATE_RATIO = 1032
/** Seconds since the epoch: anything past the year 9999 is corrupt. */
const MAX_TIME = 253_402_300_799
export { hasLoneSurrogate } from './bytes'

export interface DecodedOps {
  /** The batch's own replica table; op agents index into it. */
  readonly replicas: string[]
  readonly ops: TextOp[]
  /** Snapshot only: the parked ops, still encoded as a batch. */
  readonly pending?: Uint8Array
  /** Kind 10 only: per replica ID, the blocks of its inserts here whose text was dropped. */
  readonly dropped?: ReadonlyMap<string, DroppedBlocks>
}

// Encoding runs on every keystroke, so it reuses these buffers instead of allocating per call; the
// only allocation is the returned array. (Encoding is synchronous, so they are never shared.)
const opsOut = new ByteWriter(1024)
const textOut = new ByteWriter(1024)
/** Batch-local index of each document agent, valid where `slotStamp[agent] === stamp`. */
const slot: number[] = []
const slotStamp: number[] = []
let stamp = 0
const table: string[] = []
let tableSize = 0
/** Next counter expected per batch-local agent (0: unknown), for implicit counters. */
const expected: number[] = []
let firstCounter = 0

function tableIndex(agent: number, replicas: readonly string[]): number {
  if (slotStamp[agent] === stamp) return slot[agent]!
  slotStamp[agent] = stamp
  const i = tableSize++
  slot[agent] = i
  table[i] = replicas[agent]!
  expected[i] = firstCounter
  return i
}

/**
 * A text's UTF-8 bytes as a caller already holds them (a file as read), with `room` bytes before them
 * in their buffer that are the caller's to give away. A record of one insert of that text is then the
 * bytes themselves, its head written into the room: for a 10 MB file, no encoding and no fresh 10 MB
 * buffer, whose first touch alone costs ~30 ms on the machines measured.
 */
export interface Utf8Bytes {
  readonly bytes: Uint8Array
  readonly room: number
}

/** A store's record of a batch: `prefix`, then the batch, in one buffer (see `encodeTextOps`). */
export interface RecordOptions {
  readonly prefix: number
  /** The UTF-8 of the one insert's text (see `Utf8Bytes`); used if the head fits in its room. */
  readonly utf8?: Utf8Bytes
}

/**
 * Encodes `ops` (agents indexing `replicas`). Only the replicas the ops mention go into the table.
 * In a snapshot every agent's ops must run contiguously from counter 1, which makes counters implicit.
 * With `record` (not for snapshots), the result is its prefix byte followed by the batch, in one
 * buffer: a store's record of it, made without copying the batch (for a 10 MB text, a fresh 10 MB
 * buffer), or without encoding the text at all if its UTF-8 comes with room for the head.
 */
export function encodeTextOps(
  replicas: readonly string[],
  ops: readonly TextOp[],
  snapshot?: { readonly pending: Uint8Array },
  withTimes = false,
  record?: RecordOptions,
  dropped?: ReadonlyMap<string, DroppedBlocks>,
): Uint8Array {
  stamp++
  tableSize = 0
  firstCounter = snapshot ? 1 : 0
  // The table goes first in the output, so assign every agent an index before writing anything.
  for (const op of ops) {
    tableIndex(op.agent, replicas)
    if (op.kind === 0) {
      if (op.originLeftAgent !== NONE) tableIndex(op.originLeftAgent, replicas)
      if (op.originRightAgent !== NONE) tableIndex(op.originRightAgent, replicas)
    } else {
      tableIndex(op.targetAgent, replicas)
    }
  }
  const named = dropped && dropped.size > 0 ? droppedIn(dropped) : null
  const kind = snapshot
    ? KIND_TEXT_SNAPSHOT
    : named
      ? KIND_TEXT_BATCH_DROPPED
      : withTimes
        ? KIND_TEXT_BATCH_TIMED
        : KIND_TEXT_BATCH
  if (!snapshot) {
    const out = opsOut
    out.reset()
    if (record) out.byte(record.prefix)
    writeHeader(out, kind, table, tableSize)
    writeOps(out, ops, false)
    if (withTimes || named) writeTimes(out, ops)
    if (named) {
      out.uint(named.length)
      for (const [index, block, hash] of named) {
        out.uint(index)
        out.uint(block)
        out.bytes(hash)
      }
    }
    const utf8 = record?.utf8
    // The head goes into the room if it fits there (and the bytes have that much before them).
    if (utf8 && ops.length === 1 && out.length <= Math.min(utf8.room, utf8.bytes.byteOffset)) {
      return headBefore(out.take(), utf8.bytes)
    }
    for (const op of ops) if (op.kind === 0) out.utf8(op.text)
    // A large batch takes the buffer it grew (no copy of a 10 MB text); the writer starts afresh.
    return out.take()
  }
  // Snapshots compress the op section and the text separately: each compresses far better alone.
  const body = opsOut
  const text = textOut
  body.reset()
  text.reset()
  writeOps(body, ops, true)
  writeTimes(body, ops)
  for (const op of ops) if (op.kind === 0) text.utf8(op.text)
  // Level 6: within 0.1% of level 9's size on real text, at a fraction of the time for large documents.
  const packedOps = deflateSync(body.view(), { level: 6 })
  const packedText = deflateSync(text.view(), { level: 6 })
  const head = new ByteWriter(64)
  writeHeader(head, kind, table, tableSize)
  head.uint(body.length)
  head.uint(packedOps.length)
  const middle = new ByteWriter(16)
  middle.uint(text.length)
  middle.uint(packedText.length)
  body.reset()
  text.reset()
  const tail = new ByteWriter(8)
  tail.uint(snapshot.pending.length)
  return concatBytes(head.view(), packedOps, middle.view(), packedText, tail.view(), snapshot.pending)
}

/** `bytes` with `head` just before them, written into their buffer's room there (see Utf8Bytes). */
function headBefore(head: Uint8Array, bytes: Uint8Array): Uint8Array {
  const record = new Uint8Array(bytes.buffer, bytes.byteOffset - head.length, head.length + bytes.length)
  record.set(head)
  return record
}

/**
 * The batch of one op made on this replica, the per-keystroke case: the same bytes as
 * `encodeTextOps(replicas, [op])`, without the general path's table bookkeeping.
 */
export function encodeLocalOp(replicas: readonly string[], op: TextOp): Uint8Array {
  const own = op.agent
  // The other replicas the op names, in the order the general encoder would table them.
  let first = NONE
  let second = NONE
  if (op.kind === 0) {
    const l = op.originLeftAgent
    const r = op.originRightAgent
    if (l !== NONE && l !== own) first = l
    if (r !== NONE && r !== own && r !== first) {
      if (first === NONE) first = r
      else second = r
    }
  } else if (op.targetAgent !== own) {
    first = op.targetAgent
  }
  const out = opsOut
  out.reset()
  table[0] = replicas[own]!
  let n = 1
  if (first !== NONE) table[n++] = replicas[first]!
  if (second !== NONE) table[n++] = replicas[second]!
  writeHeader(out, KIND_TEXT_BATCH, table, n)
  out.uint(1)
  if (op.kind === 0) {
    const l = op.originLeftAgent
    const r = op.originRightAgent
    const olMode = leftOriginMode(op)
    const orMode = rightOriginMode(op)
    out.byte(F_SAME_AGENT | (olMode << OL_SHIFT) | (orMode << OR_SHIFT))
    out.uint(op.counter)
    out.uint(op.length)
    if (olMode === OL_SAME_AGENT) out.int(op.counter - op.originLeftCounter)
    else if (olMode === OL_OTHER_AGENT) {
      out.uint(l === first ? 1 : 2)
      out.uint(op.originLeftCounter)
    }
    if (orMode === OR_SAME_AGENT) out.int(op.counter - op.originRightCounter)
    else if (orMode === OR_OTHER_AGENT) {
      out.uint(r === first ? 1 : 2)
      out.uint(op.originRightCounter)
    }
    out.utf8(op.text)
    return out.take() // a large insert (a file's text, a paste) without a copy
  } else {
    const sameTarget = op.targetAgent === own
    out.byte(
      F_DELETE | F_SAME_AGENT | (op.backward ? F_BACKWARD : 0) | (sameTarget ? F_TARGET_SAME_AGENT : 0),
    )
    out.uint(op.counter)
    out.uint(op.length)
    if (sameTarget) out.int(op.counter - op.targetCounter)
    else {
      out.uint(1)
      out.uint(op.targetCounter)
    }
  }
  return out.finish()
}

/** Of `dropped`, the blocks of the replicas in the batch's table: (table index, block, hash). */
function droppedIn(dropped: ReadonlyMap<string, DroppedBlocks>): [number, number, Uint8Array][] | null {
  const out: [number, number, Uint8Array][] = []
  for (let i = 0; i < tableSize; i++) {
    const blocks = dropped.get(table[i]!)
    if (blocks) for (const [block, hash] of blocks) out.push([i, block, hash])
  }
  return out.length > 0 ? out : null
}

/** When each op was made, in seconds, delta-coded: ops come in bursts, so mostly one byte each. */
function writeTimes(w: ByteWriter, ops: readonly TextOp[]): void {
  let last = 0
  for (const op of ops) {
    w.int(op.time - last)
    last = op.time
  }
}

/** The op section; agents are looked up in the table built by `encodeTextOps`. */
function writeOps(body: ByteWriter, ops: readonly TextOp[], snapshot: boolean): void {
  let prevAgent = 0
  let lastPos = 0
  body.uint(ops.length)
  for (const op of ops) {
    const agent = slot[op.agent]!
    let flags = 0
    if (agent === prevAgent) flags |= F_SAME_AGENT
    if (op.counter === expected[agent]) flags |= F_IMPLICIT_COUNTER
    else if (snapshot) throw new Error('snapshot ops must be contiguous per replica')
    if (snapshot && op.pos >= 0) {
      flags |=
        op.kind === 0 ? F_INSERT_POSITIONAL : F_DELETE | F_DELETE_POSITIONAL | (op.backward ? F_BACKWARD : 0)
      body.byte(flags)
      if (!(flags & F_SAME_AGENT)) body.uint(agent)
      body.uint(op.length)
      body.int(op.pos - lastPos)
      lastPos = op.kind === 0 ? op.pos + op.length : op.pos
    } else if (op.kind === 0) {
      const olMode = leftOriginMode(op)
      const orMode = rightOriginMode(op)
      body.byte(flags | (olMode << OL_SHIFT) | (orMode << OR_SHIFT))
      if (!(flags & F_SAME_AGENT)) body.uint(agent)
      if (!(flags & F_IMPLICIT_COUNTER)) body.uint(op.counter)
      body.uint(op.text.length)
      if (olMode === OL_SAME_AGENT) body.int(op.counter - op.originLeftCounter)
      else if (olMode === OL_OTHER_AGENT) {
        body.uint(slot[op.originLeftAgent]!)
        body.uint(op.originLeftCounter)
      }
      if (orMode === OR_SAME_AGENT) body.int(op.counter - op.originRightCounter)
      else if (orMode === OR_OTHER_AGENT) {
        body.uint(slot[op.originRightAgent]!)
        body.uint(op.originRightCounter)
      }
    } else {
      flags |= F_DELETE
      if (op.backward) flags |= F_BACKWARD
      if (op.targetAgent === op.agent) flags |= F_TARGET_SAME_AGENT
      body.byte(flags)
      if (!(flags & F_SAME_AGENT)) body.uint(agent)
      if (!(flags & F_IMPLICIT_COUNTER)) body.uint(op.counter)
      body.uint(op.length)
      if (op.targetAgent === op.agent) body.int(op.counter - op.targetCounter)
      else {
        body.uint(slot[op.targetAgent]!)
        body.uint(op.targetCounter)
      }
    }
    prevAgent = agent
    expected[agent] = op.counter + op.length
  }
}

/**
 * Inflates raw DEFLATE bytes into at most `limit` bytes: it returns them, stopping at `limit` (or
 * throwing) if there are more, and throws if they are corrupt.
 */
export type Inflate = (packed: Uint8Array, limit: number) => Uint8Array

/** fflate's inflate, pure JS: ~100 KB of prose in ~7-10 ms in a cold process on the 2-core VM. */
const fflateInflate: Inflate = (packed, limit) => inflateSync(packed, { out: new Uint8Array(limit) })
let inflateRaw: Inflate = fflateInflate

/**
 * Has every decoder here inflate with `inflate` (null: fflate again). A host with a native inflate sets
 * it once (the main process: Node's zlib, ~1 ms where fflate takes ~10 for a state's text, which a
 * document's open waits for). Nothing else changes: the bytes, and every check on them, are the same.
 */
export function useInflate(inflate: Inflate | null): void {
  inflateRaw = inflate ?? fflateInflate
}

/**
 * Reads `raw length | packed length | deflated bytes` and inflates them, refusing (CrdtDecodeError)
 * a raw length the packed bytes cannot produce before allocating it.
 */
export function inflateExactly(r: ByteReader, what: string): Uint8Array {
  return decompressExactly(r, what, inflateRaw, (packed) => packed * MAX_DEFLATE_RATIO + 64)
}

/**
 * Reads `raw length | packed length | packed bytes` and decompresses them with `decompress` (which
 * stops at, or throws past, the limit it is given), refusing (CrdtDecodeError) a raw length beyond
 * `maxRaw` of the packed length before allocating it, a corrupt stream, and one of another length.
 */
export function decompressExactly(
  r: ByteReader,
  what: string,
  decompress: Inflate,
  maxRaw: (packedLength: number) => number,
): Uint8Array {
  const rawLength = r.uint()
  const packed = r.bytes(r.uint())
  if (rawLength > maxRaw(packed.length)) throw new CrdtDecodeError(`${what} size implausible`)
  let raw: Uint8Array
  try {
    // One byte more than stated: a stream that inflates to more than it states (a bomb, a lie) fills
    // that byte (fflate stops at its limit without a word) and is refused below.
    raw = decompress(packed, rawLength + 1)
  } catch {
    throw new CrdtDecodeError(`corrupt compressed ${what}`)
  }
  if (raw.length !== rawLength) throw new CrdtDecodeError(`compressed ${what} has the wrong size`)
  return raw
}

/**
 * The replica table of a batch, read without its ops: the replicas its ops may name. A check of who
 * may send them costs the table, not the decoding of every op and all the text; the ops are checked
 * when the batch is applied. Throws CrdtDecodeError.
 */
export function decodeTextBatchReplicas(bytes: Uint8Array): string[] {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  return readHeader(new ByteReader(bytes), BATCH_KINDS, 'text batch').replicas
}

/** Decodes and validates a batch (or with `snapshot`, a snapshot). Throws CrdtDecodeError. */
export function decodeTextOps(bytes: Uint8Array, snapshot = false): DecodedOps {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  const outer = new ByteReader(bytes)
  const kinds = snapshot ? [KIND_TEXT_SNAPSHOT] : BATCH_KINDS
  const header = readHeader(outer, kinds, snapshot ? 'text snapshot' : 'text batch')
  const replicas = header.replicas
  const timed = snapshot || header.kind === KIND_TEXT_BATCH_TIMED || header.kind === KIND_TEXT_BATCH_DROPPED
  const r = snapshot ? new ByteReader(inflateExactly(outer, 'ops')) : outer
  const n = replicas.length
  const agentAt = (i: number): number => {
    if (i >= n) throw new CrdtDecodeError(`replica index ${i} outside the table of ${n}`)
    return i
  }
  const counterAt = (c: number): number => {
    if (c < 1) throw new CrdtDecodeError('counter 0')
    return c
  }
  const count = r.count(2)
  const ops: TextOp[] = []
  const lengths: number[] = []
  const expected: number[] = []
  let prevAgent = 0
  let textLength = 0
  let lastPos = 0
  for (let k = 0; k < count; k++) {
    const flags = r.byte()
    const isDelete = (flags & F_DELETE) !== 0
    if (isDelete && flags & RESERVED_DELETE) throw new CrdtDecodeError('reserved flag bits set')
    const positional = (flags & (isDelete ? F_DELETE_POSITIONAL : F_INSERT_POSITIONAL)) !== 0
    if (positional && !snapshot) throw new CrdtDecodeError('a positional op outside a snapshot')
    const agent = flags & F_SAME_AGENT ? prevAgent : agentAt(r.uint())
    if (n === 0) throw new CrdtDecodeError('op in a batch with no replicas')
    let counter: number
    if (flags & F_IMPLICIT_COUNTER) {
      const next = expected[agent] ?? (snapshot ? 1 : 0)
      if (next === 0) throw new CrdtDecodeError('implicit counter with nothing before it')
      counter = next
    } else {
      counter = counterAt(r.uint())
    }
    const length = r.uint()
    if (length === 0) throw new CrdtDecodeError('empty op')
    if (counter + length > Number.MAX_SAFE_INTEGER) throw new CrdtDecodeError('counter out of range')
    if (snapshot && counter !== (expected[agent] ?? 1)) throw new CrdtDecodeError('snapshot ops out of order')
    if (positional) {
      const pos = lastPos + r.int()
      if (pos < 0) throw new CrdtDecodeError('negative position')
      const op = isDelete
        ? new DeleteOp(agent, counter, length, NONE, 0, (flags & F_BACKWARD) !== 0)
        : new InsertOp(agent, counter, '', NONE, 0, NONE, 0)
      op.pos = pos
      ops.push(op)
      if (!isDelete) {
        lengths.push(length)
        textLength += length
        lastPos = pos + length
      } else {
        lastPos = pos
      }
    } else if (!isDelete) {
      const olMode = (flags >> OL_SHIFT) & 3
      const orMode = (flags >> OR_SHIFT) & 3
      let olAgent = NONE
      let olCounter = 0
      if (olMode === OL_PREVIOUS) {
        olAgent = agent
        olCounter = counterAt(counter - 1)
      } else if (olMode === OL_SAME_AGENT) {
        olAgent = agent
        olCounter = counterAt(counter - r.int())
      } else if (olMode === OL_OTHER_AGENT) {
        olAgent = agentAt(r.uint())
        olCounter = counterAt(r.uint())
      }
      let orAgent = NONE
      let orCounter = 0
      if (orMode === OR_SAME_AGENT) {
        orAgent = agent
        orCounter = counterAt(counter - r.int())
      } else if (orMode === OR_OTHER_AGENT) {
        orAgent = agentAt(r.uint())
        orCounter = counterAt(r.uint())
      } else if (orMode !== OR_NONE) throw new CrdtDecodeError('bad right origin mode')
      // Text is attached below, once the text section is decoded.
      ops.push(new InsertOp(agent, counter, '', olAgent, olCounter, orAgent, orCounter))
      lengths.push(length)
      textLength += length
    } else {
      const backward = (flags & F_BACKWARD) !== 0
      let targetAgent: number
      let targetCounter: number
      if (flags & F_TARGET_SAME_AGENT) {
        targetAgent = agent
        targetCounter = counterAt(counter - r.int())
      } else {
        targetAgent = agentAt(r.uint())
        targetCounter = counterAt(r.uint())
      }
      if (targetCounter + length > Number.MAX_SAFE_INTEGER) throw new CrdtDecodeError('target out of range')
      ops.push(new DeleteOp(agent, counter, length, targetAgent, targetCounter, backward))
    }
    prevAgent = agent
    expected[agent] = counter + length
  }

  if (timed) {
    let last = 0
    for (const op of ops) {
      last += r.int()
      if (last < 0 || last > MAX_TIME) throw new CrdtDecodeError('op time out of range')
      op.time = last
    }
  }
  const dropped = header.kind === KIND_TEXT_BATCH_DROPPED ? readDropped(r, replicas) : undefined

  let text: string
  let pending: Uint8Array | undefined
  if (snapshot) {
    if (!r.done()) throw new CrdtDecodeError('trailing bytes after the ops')
    text = decodeUtf8(inflateExactly(outer, 'text'))
    pending = outer.bytes(outer.uint())
  } else {
    text = decodeUtf8(r.bytes(r.remaining))
  }
  if (!outer.done()) throw new CrdtDecodeError('trailing bytes')
  if (text.length !== textLength) throw new CrdtDecodeError('text length does not match the ops')
  let at = 0
  let i = 0
  for (const op of ops) {
    if (op.kind !== 0) continue
    const len = lengths[i++]!
    // The decoded text is well-formed (TextDecoder is fatal), so only a cut between ops can split a
    // pair: checking the two ends of each op is enough.
    const first = text.charCodeAt(at)
    const last = text.charCodeAt(at + len - 1)
    if ((first >= 0xdc00 && first <= 0xdfff) || (last >= 0xd800 && last <= 0xdbff)) {
      throw new CrdtDecodeError('an insert splits a surrogate pair')
    }
    op.text = text.slice(at, at + len)
    at += len
  }
  if (dropped) return { replicas, ops, dropped }
  return pending ? { replicas, ops, pending } : { replicas, ops }
}

/**
 * Of `dropped` (by replica ID), the blocks that `ops`' inserts have counters in: what a batch of them
 * names (undefined if none). `replicas` is the table the ops' agents index.
 */
export function droppedFor(
  replicas: readonly string[],
  ops: readonly TextOp[],
  dropped: ReadonlyMap<string, DroppedBlocks>,
): Map<string, Map<number, Uint8Array>> | undefined {
  let out: Map<string, Map<number, Uint8Array>> | undefined
  for (const op of ops) {
    if (op.kind !== 0) continue
    const replica = replicas[op.agent]!
    const blocks = dropped.get(replica)
    if (!blocks) continue
    const last = blockOf(op.counter + op.length - 1)
    for (let block = blockOf(op.counter); block <= last; block++) {
      const hash = blocks.get(block)
      if (!hash) continue
      out ??= new Map()
      const named = out.get(replica) ?? new Map<number, Uint8Array>()
      named.set(block, hash)
      out.set(replica, named)
    }
  }
  return out
}

/** The kinds of a batch. */
const BATCH_KINDS = [KIND_TEXT_BATCH, KIND_TEXT_BATCH_TIMED, KIND_TEXT_BATCH_DROPPED]
/** The highest block a counter (a safe integer) can be in. */
const MAX_BLOCK = Math.floor(Number.MAX_SAFE_INTEGER / BLOCK_COUNTERS) - 1

/** A kind-10 batch's dropped blocks, by replica ID; CrdtDecodeError if malformed. */
function readDropped(r: ByteReader, replicas: readonly string[]): Map<string, Map<number, Uint8Array>> {
  const out = new Map<string, Map<number, Uint8Array>>()
  const n = r.count(34)
  if (n === 0) throw new CrdtDecodeError('a batch that names no dropped block')
  for (let i = 0; i < n; i++) {
    const index = r.uint()
    if (index >= replicas.length) throw new CrdtDecodeError('a dropped block of a replica outside the table')
    const block = r.uint()
    if (block > MAX_BLOCK) throw new CrdtDecodeError('a dropped block out of range')
    const blocks = out.get(replicas[index]!) ?? new Map<number, Uint8Array>()
    if (blocks.has(block)) throw new CrdtDecodeError('a dropped block named twice')
    blocks.set(block, r.bytes(32).slice())
    out.set(replicas[index]!, blocks)
  }
  return out
}

/**
 * Most bytes one op's fields can take outside its text: flags, then at most agent, counter, length,
 * two origins of two varints each and a time: eight varints of at most 9 bytes.
 */
const MAX_OP_OVERHEAD = 1 + 9 * 8

/** Most bytes one dropped block's name takes in a batch: replica index, block (varints), hash. */
const MAX_NAME_BYTES = 9 + 9 + 32

/** Bytes of the UTF-8 form of `s` from `from`, stopping once past `limit`: the index reached, and bytes. */
function utf8Prefix(s: string, from: number, limit: number): { end: number; bytes: number } {
  const n = s.length
  let bytes = 0
  let i = from
  while (i < n) {
    const c = s.charCodeAt(i)
    // A surrogate pair is one 4-byte code point: never counted (or cut) apart.
    const units = c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : units === 2 ? 4 : 3
    if (bytes + size > limit) break
    bytes += size
    i += units
  }
  return { end: i, bytes }
}

/** The first `n` characters of an insert, as an op of their own (the rest is `withoutPrefix(n)`). */
function insertPrefix(op: InsertOp, n: number): InsertOp {
  const piece = new InsertOp(
    op.agent,
    op.counter,
    op.text.slice(0, n),
    op.originLeftAgent,
    op.originLeftCounter,
    op.originRightAgent,
    op.originRightCounter,
  )
  piece.time = op.time
  return piece
}

/**
 * Cuts a batch (timed or not) into batches of at most `maxBytes` each that, applied in order, give any
 * replica exactly the state and version of the original: so a batch larger than a frame can be sent.
 * A batch within the size comes back as is (the same array). Ops keep their order and times; an insert
 * too long for one chunk is cut into consecutive inserts, each later piece with the previous piece's
 * last character as its left origin (the split Yjs makes of an item), never inside a surrogate pair.
 * Throws RangeError if `maxBytes` cannot hold even one op of one character.
 */
export function splitTextBatch(batch: Uint8Array, maxBytes: number): Uint8Array[] {
  if (batch.length <= maxBytes) return [batch]
  const { replicas, ops, dropped } = decodeTextOps(batch)
  const kind = batch[0]! >> 4
  const timed = kind === KIND_TEXT_BATCH_TIMED || kind === KIND_TEXT_BATCH_DROPPED
  // A chunk's table holds a subset of the batch's, so the whole table bounds every chunk's header.
  const head = new ByteWriter(64)
  writeHeader(head, KIND_TEXT_BATCH_TIMED, replicas)
  const budget = maxBytes - head.length - 9 // 9: the op count
  if (budget < MAX_OP_OVERHEAD + 4) throw new RangeError(`${maxBytes} bytes cannot hold a text op`)
  const chunks: Uint8Array[] = []
  let current: TextOp[] = []
  let left = budget
  /** The dropped blocks the chunk names so far ("replica index:block"): each takes a name's bytes. */
  let named = new Set<string>()
  const flush = (): void => {
    if (current.length === 0) return
    const names = dropped && droppedFor(replicas, current, dropped)
    const chunk = encodeTextOps(replicas, current, undefined, timed, undefined, names)
    if (chunk.length > maxBytes) throw new Error(`split chunk of ${chunk.length} bytes > ${maxBytes}`)
    chunks.push(chunk)
    current = []
    left = budget
    named = new Set()
  }
  /** The named dropped blocks of `op`'s counters `from` … `to` that the chunk does not name yet. */
  const newNames = (op: InsertOp, from: number, to: number): string[] => {
    const blocks = dropped?.get(replicas[op.agent]!)
    const out: string[] = []
    if (!blocks) return out
    for (let k = blockOf(from); k <= blockOf(to); k++) {
      const key = `${op.agent}:${k}`
      if (blocks.has(k) && !named.has(key)) out.push(key)
    }
    return out
  }
  for (const op of ops) {
    if (op.kind !== 0) {
      if (left < MAX_OP_OVERHEAD) flush()
      current.push(op)
      left -= MAX_OP_OVERHEAD
      continue
    }
    let rest = op
    for (;;) {
      // Room for the names of the dropped blocks the piece may reach (a unit takes a byte at least).
      const reach = newNames(rest, rest.counter, rest.counter + Math.min(rest.length, Math.max(left, 0)) - 1)
      const room = left - MAX_OP_OVERHEAD - reach.length * MAX_NAME_BYTES
      if (room < 4) {
        if (current.length === 0) throw new RangeError(`${maxBytes} bytes cannot hold a text op`)
        flush()
        continue
      }
      const fit = utf8Prefix(rest.text, 0, room)
      const take = (n: number): void => {
        const names = newNames(rest, rest.counter, rest.counter + n - 1)
        for (const key of names) named.add(key)
        left -= MAX_OP_OVERHEAD + names.length * MAX_NAME_BYTES
      }
      if (fit.end >= rest.length) {
        take(rest.length)
        current.push(rest)
        left -= fit.bytes
        break
      }
      if (fit.end > 0) {
        take(fit.end)
        current.push(insertPrefix(rest, fit.end))
        rest = rest.withoutPrefix(fit.end)
      }
      flush()
    }
  }
  flush()
  return chunks
}
