/**
 * Byte layout of an op-log segment: a 4-byte magic, then records of
 * `u32 length | u32 crc32(length bytes + payload) | payload` (little-endian). The checksum covers the
 * length too, so a torn or bit-flipped length is caught instead of swallowing the records after it.
 */
import { crc32 } from './crc32'

export const LOG_MAGIC = new Uint8Array([0x4d, 0x50, 0x4c, 0x31]) // "MPL1"
const RECORD_HEADER = 8
/** Larger than any sane op batch (a 10 MB paste is ~10 MB); a bigger length field is corruption. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024

/** Records from this size on are written as they are, after their header, not copied into a frame. */
const WRITE_APART_BYTES = 64 * 1024

/**
 * The bytes of `records`, as buffers to write one after another: small records framed together, a
 * large one (a pasted or imported file) as it is after its header. Copying 10 MB into a frame costs a
 * fresh 10 MB buffer, which on the machines measured takes 25–35 ms (its pages are new to the process).
 */
export function encodeRecordParts(records: readonly Uint8Array[], withMagic: boolean): Uint8Array[] {
  const parts: Uint8Array[] = []
  let small: Uint8Array[] = []
  let magic = withMagic
  for (const r of records) {
    if (r.byteLength < WRITE_APART_BYTES) {
      small.push(r)
      continue
    }
    parts.push(encodeRecords(small, magic, r), r)
    small = []
    magic = false
  }
  if (small.length > 0 || magic) parts.push(encodeRecords(small, magic))
  return parts
}

/** `records` framed; with `headerOf`, that record's header follows them (its payload is not copied). */
export function encodeRecords(
  records: readonly Uint8Array[],
  withMagic: boolean,
  headerOf?: Uint8Array,
): Uint8Array {
  let total = withMagic ? LOG_MAGIC.length : 0
  for (const r of headerOf ? [...records, headerOf] : records) {
    if (r.byteLength > MAX_RECORD_BYTES)
      throw new RangeError(`op-log record of ${r.byteLength} bytes is too large`)
    total += RECORD_HEADER + r.byteLength
  }
  if (headerOf) total -= headerOf.byteLength
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let at = 0
  if (withMagic) {
    out.set(LOG_MAGIC, 0)
    at = LOG_MAGIC.length
  }
  const header = (r: Uint8Array): void => {
    view.setUint32(at, r.byteLength, true)
    view.setUint32(at + 4, crc32(r, crc32(out.subarray(at, at + 4))), true)
    at += RECORD_HEADER
  }
  for (const r of records) {
    header(r)
    out.set(r, at)
    at += r.byteLength
  }
  if (headerOf) header(headerOf)
  return out
}

export interface DecodedSegment {
  readonly records: Uint8Array[]
  /** Bytes from the start that hold a valid header and whole, intact records. */
  readonly validLength: number
  /** Why decoding stopped before the end of the bytes, if it did. */
  readonly problem: string | undefined
}

export function decodeSegment(bytes: Uint8Array): DecodedSegment {
  const records: Uint8Array[] = []
  if (bytes.byteLength === 0) return { records, validLength: 0, problem: undefined }
  if (bytes.byteLength < LOG_MAGIC.length || LOG_MAGIC.some((b, i) => bytes[i] !== b)) {
    return { records, validLength: 0, problem: 'missing or damaged segment header' }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = LOG_MAGIC.length
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < RECORD_HEADER) return stop(records, at, 'torn record header')
    const length = view.getUint32(at, true)
    if (length > MAX_RECORD_BYTES) return stop(records, at, 'impossible record length')
    if (bytes.byteLength - at - RECORD_HEADER < length) return stop(records, at, 'torn record')
    const payload = bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length)
    const expected = crc32(payload, crc32(bytes.subarray(at, at + 4)))
    if (view.getUint32(at + 4, true) !== expected) return stop(records, at, 'record checksum mismatch')
    records.push(payload)
    at += RECORD_HEADER + length
  }
  return { records, validLength: at, problem: undefined }
}

function stop(records: Uint8Array[], at: number, problem: string): DecodedSegment {
  return { records, validLength: at, problem: `${problem} at byte ${at}` }
}
