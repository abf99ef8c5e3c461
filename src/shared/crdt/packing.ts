/**
 * How a text state's sections are compressed: brotli where the host provides it (`useBrotli`: the main
 * process, through Node's zlib, which is where states are written and read), else deflate (fflate, pure
 * JS, everywhere). Each section says which in its form byte, so a reader knows; a reader without brotli
 * refuses a brotli section with a clear CrdtDecodeError rather than misreading it.
 *
 * Brotli's larger window and context modelling keep less of a state than deflate at level 9 does: on the
 * automerge-paper trace, the visible text 22,941 B against 27,467 B, the removed text 23,481 B against
 * 27,996 B. Its best qualities are slow (~1 ms per KB), so the host picks the quality by size.
 *
 *   section   raw length | packed length | bytes, as `inflateExactly` reads a deflated one; a section
 *             kept as it is (where its form allows: a small log chunk's) is length | bytes
 */
import { deflateSync } from 'fflate'
import { ByteReader, ByteWriter, concatBytes } from './bytes'
import { decompressExactly, inflateExactly } from './text-codec'
import { CrdtDecodeError } from './types'

export interface Brotli {
  compress(raw: Uint8Array): Uint8Array
  /** Decompresses into at most `limit` bytes (stopping, or throwing, if there are more); throws if corrupt. */
  decompress(packed: Uint8Array, limit: number): Uint8Array
}

/** A section no larger than this states nothing implausible (JS strings end near 2^29 UTF-16 units). */
const MAX_RAW = 2 ** 30

let brotli: Brotli | null = null
/** Whether encoders compress at all (`storedWhile` turns it off for a while). */
let compressing = true

/** Has every encoder here compress with `b` and every decoder accept it (null: deflate only again). */
export function useBrotli(b: Brotli | null): void {
  brotli = b
}

/**
 * Runs `encode` with every section it packs kept as it is: bytes that any process reads (one without
 * brotli: a window), made at once, for a window on the same machine (window-state.ts). Decoding still
 * reads brotli.
 */
export function storedWhile<T>(encode: () => T): T {
  const kept = compressing
  compressing = false
  try {
    return encode()
  } finally {
    compressing = kept
  }
}

/** `raw` as a section kept as it is (method STORED): `length | bytes`. */
export function storedSection(raw: Uint8Array): Uint8Array {
  const head = new ByteWriter(8)
  head.uint(raw.length)
  return concatBytes(head.view(), raw)
}

/** How a section is kept: as it is (length | bytes), deflated, or brotli (raw length | packed length | bytes). */
export const STORED = 0
export const DEFLATED = 1
export const BROTLI = 2

/**
 * `raw` as a section, and how it is kept: brotli if this process has it, else deflated; or, where
 * `mayStore` and compressing would not make it smaller (a few bytes: a small chunk's), as it is.
 */
export function packSection(
  raw: Uint8Array,
  mayStore = false,
): { readonly method: number; readonly bytes: Uint8Array } {
  // Stored is never smaller: where a caller may not store a section, it keeps its raw bytes instead.
  if (!compressing) return { method: STORED, bytes: storedSection(raw) }
  const packed = brotli ? brotli.compress(raw) : deflateSync(raw, { level: 9 })
  if (mayStore && packed.length >= raw.length) return { method: STORED, bytes: storedSection(raw) }
  const head = new ByteWriter(16)
  head.uint(raw.length)
  head.uint(packed.length)
  return { method: brotli ? BROTLI : DEFLATED, bytes: concatBytes(head.view(), packed) }
}

/** Reads a section `packSection` wrote, kept as `method` says. Throws CrdtDecodeError. */
export function unpackSection(r: ByteReader, method: number, what: string): Uint8Array {
  if (method === STORED) return r.bytes(r.uint())
  if (method === DEFLATED) return inflateExactly(r, what)
  if (method !== BROTLI) throw new CrdtDecodeError(`${what} kept in an unknown way (${method})`)
  if (brotli === null)
    throw new CrdtDecodeError(`${what} is compressed with brotli, which this process cannot read`)
  return decompressExactly(r, what, brotli.decompress, () => MAX_RAW)
}
