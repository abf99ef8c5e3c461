/**
 * A chunk of a text state's op log (text-state.ts): consecutive ops of the log, oldest first, with when
 * each was made and, for an op made on the saving replica, the visible index it was made at. A chunk is
 * encoded once, when it is made (the ops since the last state), and decoded when the history is first
 * needed; a store may keep it in a file of its own (`TextDoc.saveStateApart`), so every form ever
 * written stays readable.
 *
 *   chunk     u8 form, then:
 *               0  the body as it is
 *               1  the body deflated, as raw length | packed length | bytes
 *               2  the body without the inserted text, deflated, then that text (UTF-8), deflated apart:
 *                  each as raw length | packed length | bytes. The text and the ops' fields are
 *                  different data; deflated apart, each is coded better (the automerge-paper trace's
 *                  history: 112,863 B, where form 1 at level 1 gave 121,744 B)
 *               3  only what a text state does not keep elsewhere, by position (positional-chunk.ts).
 *                  What is written now; 0 to 2 are still read, and 2 is written where two chunks
 *                  stored before form 3 are joined (their deletes do not say what they removed)
 *   body      byte length | a timed batch of consecutive log ops (text-codec.ts) | per op a position
 *             code: 0 for an op not made here, else 1 + the zigzag delta of the visible index it was
 *             made at (as in a snapshot: from the previous op's end for an insert, its start for a delete)
 *
 * The text is the batch's last section: form 2 stores the batch's byte length less the text's, and the
 * decoder puts the two back together.
 */
import { deflateSync } from 'fflate'
import { ByteReader, ByteWriter, concatBytes } from './bytes'
import type { TextOp } from './ops'
import {
  decodeTextOps,
  encodeTextOps,
  inflateExactly,
  KIND_TEXT_BATCH_TIMED,
  type DecodedOps,
} from './text-codec'
import { CHUNK_POSITIONAL, decodePositionalChunk } from './positional-chunk'
import { CrdtDecodeError } from './types'

const CHUNK_RAW = 0
const CHUNK_DEFLATED = 1
const CHUNK_TEXT_APART = 2
/** Smaller chunk bodies are not worth deflating (the last op's chunk, mostly). */
const DEFLATE_FROM = 256

/** One chunk of the op log: `ops` (agents indexing `replicas`) with their times and positions. */
export function encodeLogChunk(replicas: readonly string[], ops: readonly TextOp[]): Uint8Array {
  const batch = encodeTextOps(replicas, ops, undefined, true)
  const positions = new ByteWriter(16 + ops.length)
  let lastPos = 0
  const text = new ByteWriter(64)
  for (const op of ops) {
    // Written as the batch writes it, so that the byte counts agree exactly.
    if (op.kind === 0) text.utf8(op.text)
    if (op.pos < 0) {
      positions.uint(0)
      continue
    }
    positions.uint(zigzag(op.pos - lastPos) + 1)
    lastPos = op.kind === 0 ? op.pos + op.length : op.pos
  }
  const fieldsLength = batch.length - text.length
  if (batch.length + positions.length >= DEFLATE_FROM) {
    const head = new ByteWriter(16)
    head.uint(fieldsLength)
    const fields = concatBytes(head.view(), batch.subarray(0, fieldsLength), positions.view())
    const out = new ByteWriter(64)
    out.byte(CHUNK_TEXT_APART)
    const packedFields = deflateSync(fields, { level: 6 })
    out.uint(fields.length)
    out.uint(packedFields.length)
    const packedText = deflateSync(text.view(), { level: 6 })
    const middle = new ByteWriter(16)
    middle.uint(text.length)
    middle.uint(packedText.length)
    const packed = concatBytes(out.view(), packedFields, middle.view(), packedText)
    if (packed.length < batch.length + positions.length) return packed
  }
  const head = new ByteWriter(16)
  head.byte(CHUNK_RAW)
  head.uint(batch.length)
  return concatBytes(head.view(), batch, positions.view())
}

/** Decodes a chunk of `encodeLogChunk` (agents index the returned table). Throws CrdtDecodeError. */
export function decodeLogChunk(chunk: Uint8Array): DecodedOps {
  const outer = new ByteReader(chunk)
  const form = outer.byte()
  let r: ByteReader
  let batch: Uint8Array
  if (form === CHUNK_RAW || form === CHUNK_DEFLATED) {
    r = form === CHUNK_RAW ? outer : new ByteReader(inflateExactly(outer, 'log chunk'))
    batch = r.bytes(r.uint())
  } else if (form === CHUNK_TEXT_APART) {
    r = new ByteReader(inflateExactly(outer, 'log chunk'))
    const fields = r.bytes(r.uint())
    const text = inflateExactly(outer, 'log chunk text')
    batch = concatBytes(fields, text)
  } else if (form === CHUNK_POSITIONAL) {
    return decodePositionalChunk(outer)
  } else throw new CrdtDecodeError(`unknown log chunk form ${form}`)
  if (form !== CHUNK_RAW && !outer.done()) throw new CrdtDecodeError('trailing bytes after a log chunk')
  if (batch.length === 0 || batch[0]! >> 4 !== KIND_TEXT_BATCH_TIMED) {
    throw new CrdtDecodeError('a log chunk that is not a timed batch')
  }
  const decoded = decodeTextOps(batch)
  let lastPos = 0
  for (const op of decoded.ops) {
    const code = r.uint()
    if (code === 0) continue
    const pos = lastPos + unzigzag(code - 1)
    if (pos < 0) throw new CrdtDecodeError('negative position')
    op.pos = pos
    lastPos = op.kind === 0 ? pos + op.length : pos
  }
  if (!r.done()) throw new CrdtDecodeError('trailing bytes after a log chunk')
  return decoded
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2)
