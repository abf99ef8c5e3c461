/**
 * Byte layout of a snapshot file, little-endian:
 *
 *   "MPS2" | u32 generation | u32 length | u32 crc32 | u32 history count | history entries | payload
 *   history entry: 32-byte SHA-256 | u32 byte length | u32 crc32 of the chunk
 *
 * The history entries name the files that hold the chunks of the document's history this snapshot keeps
 * apart (`hist-<hex>.bin`, each the chunk's bytes, named by their SHA-256: written once, shared by the
 * snapshots that name them). A chunk is checked at load by its length and CRC-32 (damage, as for the
 * snapshot itself; ~10× cheaper than hashing it again). "MPS1" files (written before, no history list) still read. The checksum
 * covers everything but itself, so a snapshot renamed to the wrong generation or cut short is rejected
 * rather than half-loaded.
 */
import { crc32 } from './crc32'

const MAGIC_V1 = [0x4d, 0x50, 0x53, 0x31] // "MPS1"
const MAGIC = [0x4d, 0x50, 0x53, 0x32] // "MPS2"
const HEADER = 16
const HASH_BYTES = 32
const ENTRY_BYTES = HASH_BYTES + 8

/** A history chunk as a snapshot names it. */
export interface HistoryEntry {
  /** Its SHA-256, hex: the file's name. */
  readonly name: string
  readonly length: number
  readonly crc: number
}

export interface DecodedSnapshot {
  readonly payload: Uint8Array
  /** The history chunks kept apart, in order. */
  readonly history: readonly HistoryEntry[]
}

/** The entry naming `chunk`, whose SHA-256 (hex) is `name`. */
export const historyEntry = (name: string, chunk: Uint8Array): HistoryEntry => ({
  name,
  length: chunk.byteLength,
  crc: crc32(chunk),
})

/**
 * The snapshot file of a payload given in parts, laid end to end, naming the history chunks `history`
 * (hex SHA-256 each): as the parts to write one after another, the header first and then `payload`'s
 * own arrays, so that no part is copied (a 10 MB document's state would cost a fresh 10 MB buffer).
 */
export function encodeSnapshotParts(
  generation: number,
  history: readonly HistoryEntry[],
  ...payload: Uint8Array[]
): Uint8Array[] {
  let length = 4 + history.length * ENTRY_BYTES
  for (const part of payload) length += part.byteLength
  const head = new Uint8Array(HEADER + 4 + history.length * ENTRY_BYTES)
  const view = new DataView(head.buffer)
  head.set(MAGIC, 0)
  view.setUint32(4, generation, true)
  view.setUint32(8, length, true)
  view.setUint32(HEADER, history.length, true)
  let at = HEADER + 4
  for (const entry of history) {
    head.set(Buffer.from(entry.name, 'hex'), at)
    view.setUint32(at + HASH_BYTES, entry.length, true)
    view.setUint32(at + HASH_BYTES + 4, entry.crc, true)
    at += ENTRY_BYTES
  }
  // As `checksum` computes it over the whole file: every byte but the checksum's own four.
  let crc = crc32(head.subarray(HEADER), crc32(head.subarray(0, 12)))
  for (const part of payload) crc = crc32(part, crc)
  view.setUint32(12, crc, true)
  return [head, ...payload]
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
  if (count > (bytes.byteLength - start) / ENTRY_BYTES) return 'history list longer than the file'
  const history: HistoryEntry[] = []
  for (let i = 0; i < count; i++) {
    const at = start + i * ENTRY_BYTES
    history.push({
      name: Buffer.from(bytes.subarray(at, at + HASH_BYTES)).toString('hex'),
      length: view.getUint32(at + HASH_BYTES, true),
      crc: view.getUint32(at + HASH_BYTES + 4, true),
    })
  }
  return { payload: bytes.subarray(start + count * ENTRY_BYTES), history }
}

function checksum(file: Uint8Array): number {
  return crc32(file.subarray(HEADER), crc32(file.subarray(0, 12)))
}
