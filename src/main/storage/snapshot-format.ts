/**
 * Byte layout of a snapshot file, little-endian:
 *
 *   "MPS2" | u32 generation | u32 length | u32 crc32 | u32 history count | count × 32-byte SHA-256 | payload
 *
 * The history entries name the files that hold the chunks of the document's history this snapshot keeps
 * apart (`hist-<hex>.bin`, each the chunk's bytes, named by their SHA-256: written once, shared by the
 * snapshots that name them). "MPS1" files (written before, no history list) still read. The checksum
 * covers everything but itself, so a snapshot renamed to the wrong generation or cut short is rejected
 * rather than half-loaded.
 */
import { crc32 } from './crc32'

const MAGIC_V1 = [0x4d, 0x50, 0x53, 0x31] // "MPS1"
const MAGIC = [0x4d, 0x50, 0x53, 0x32] // "MPS2"
const HEADER = 16
const HASH_BYTES = 32

export interface DecodedSnapshot {
  readonly payload: Uint8Array
  /** The SHA-256 (hex) of each history chunk kept apart, in order. */
  readonly history: readonly string[]
}

/**
 * The snapshot file of a payload given in parts, laid end to end (one copy: no payload is built
 * first), naming the history chunks `history` (hex SHA-256 each).
 */
export function encodeSnapshot(
  generation: number,
  history: readonly string[],
  ...payload: Uint8Array[]
): Uint8Array {
  let length = 4 + history.length * HASH_BYTES
  for (const part of payload) length += part.byteLength
  const out = new Uint8Array(HEADER + length)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  view.setUint32(4, generation, true)
  view.setUint32(8, length, true)
  view.setUint32(HEADER, history.length, true)
  let at = HEADER + 4
  for (const hash of history) {
    out.set(Buffer.from(hash, 'hex'), at)
    at += HASH_BYTES
  }
  for (const part of payload) {
    out.set(part, at)
    at += part.byteLength
  }
  view.setUint32(12, checksum(out), true)
  return out
}

/** The payload and history names, or a reason the bytes are not a valid snapshot of `generation`. */
export function decodeSnapshot(bytes: Uint8Array, generation: number): DecodedSnapshot | string {
  if (bytes.byteLength < HEADER) return 'shorter than a snapshot header'
  const v1 = MAGIC_V1.every((b, i) => bytes[i] === b)
  if (!v1 && MAGIC.some((b, i) => bytes[i] !== b)) return 'not a Meshpad snapshot'
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(4, true) !== generation) return 'generation does not match its file name'
  if (view.getUint32(8, true) !== bytes.byteLength - HEADER) return 'length does not match the file size'
  if (view.getUint32(12, true) !== checksum(bytes)) return 'checksum mismatch'
  if (v1) return { payload: bytes.subarray(HEADER), history: [] }
  if (bytes.byteLength < HEADER + 4) return 'shorter than its history list'
  const count = view.getUint32(HEADER, true)
  const start = HEADER + 4
  if (count > (bytes.byteLength - start) / HASH_BYTES) return 'history list longer than the file'
  const history: string[] = []
  for (let i = 0; i < count; i++) {
    const at = start + i * HASH_BYTES
    history.push(Buffer.from(bytes.subarray(at, at + HASH_BYTES)).toString('hex'))
  }
  return { payload: bytes.subarray(start + count * HASH_BYTES), history }
}

function checksum(file: Uint8Array): number {
  return crc32(file.subarray(HEADER), crc32(file.subarray(0, 12)))
}
