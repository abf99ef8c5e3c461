/**
 * A shared folder's file tree ops (src/shared/tree), with their signatures, as they travel and are
 * stored: batches of at most MAX_OPS_PER_BATCH (a batch is what `decodeOps` accepts), laid out as
 * `u32 batch count | (u32 length | batch)*`; no ops at all is zero bytes. One form for a log record, a
 * snapshot's tree (every op: replayed at open, as a tree's ops are few next to a document's keystrokes,
 * and replaying is what checks them) and the sync channel's batches.
 */
import { CrdtDecodeError } from '../crdt/types'
import { decodeOps, encodeOps, MAX_OPS_PER_BATCH, type TreeOp } from './tree-ops'

export function encodeTreePart(ops: readonly TreeOp[]): Uint8Array {
  const batches: Uint8Array[] = []
  for (let i = 0; i < ops.length; i += MAX_OPS_PER_BATCH)
    batches.push(encodeOps(ops.slice(i, i + MAX_OPS_PER_BATCH)))
  return layOut(batches)
}

/** The ops of `encodeTreePart`'s bytes, batch by batch. Throws CrdtDecodeError on anything malformed. */
export function decodeTreePart(bytes: Uint8Array): TreeOp[][] {
  return batchesOf(bytes).map(decodeOps)
}

/**
 * `bytes` (an `encodeTreePart`) cut into parts of one batch each, in order, without decoding the
 * ops: each fits a frame however large the tree (a batch of MAX_OPS_PER_BATCH ops is well under one).
 * Throws CrdtDecodeError if the layout is broken.
 */
export function splitTreePart(bytes: Uint8Array): Uint8Array[] {
  return batchesOf(bytes).map((batch) => layOut([batch]))
}

/** Encoded batches laid end to end, each after its length, behind their count (none: zero bytes). */
function layOut(batches: readonly Uint8Array[]): Uint8Array {
  if (batches.length === 0) return new Uint8Array(0)
  let size = 4
  for (const b of batches) size += 4 + b.byteLength
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, batches.length, true)
  let at = 4
  for (const b of batches) {
    view.setUint32(at, b.byteLength, true)
    out.set(b, at + 4)
    at += 4 + b.byteLength
  }
  return out
}

/** The encoded batches of a part, checked against its layout (not decoded). */
function batchesOf(bytes: Uint8Array): Uint8Array[] {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  if (bytes.byteLength === 0) return []
  if (bytes.byteLength < 4) throw new CrdtDecodeError('a tree part shorter than its count')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(0, true)
  const batches: Uint8Array[] = []
  let at = 4
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) throw new CrdtDecodeError('a truncated tree part')
    const length = view.getUint32(at, true)
    if (at + 4 + length > bytes.byteLength) throw new CrdtDecodeError('a truncated tree part')
    batches.push(bytes.subarray(at + 4, at + 4 + length))
    at += 4 + length
  }
  if (at !== bytes.byteLength) throw new CrdtDecodeError('trailing bytes after a tree part')
  return batches
}
