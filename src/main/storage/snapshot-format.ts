/**
 * Byte layout of a snapshot file: `"MPS1" | u32 generation | u32 length | u32 crc32 | payload`
 * (little-endian). The checksum covers the magic, generation, length and payload, so a snapshot renamed
 * to the wrong generation or cut short is rejected rather than half-loaded.
 */
import { crc32 } from './crc32'

const MAGIC = [0x4d, 0x50, 0x53, 0x31] // "MPS1"
const HEADER = 16

/** The snapshot file of a payload given in parts, laid end to end (one copy: no payload is built first). */
export function encodeSnapshot(generation: number, ...payload: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of payload) length += part.byteLength
  const out = new Uint8Array(HEADER + length)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  view.setUint32(4, generation, true)
  view.setUint32(8, length, true)
  let at = HEADER
  for (const part of payload) {
    out.set(part, at)
    at += part.byteLength
  }
  view.setUint32(12, checksum(out), true)
  return out
}

/** The payload, or a reason the bytes are not a valid snapshot of `generation`. */
export function decodeSnapshot(bytes: Uint8Array, generation: number): Uint8Array | string {
  if (bytes.byteLength < HEADER) return 'shorter than a snapshot header'
  if (MAGIC.some((b, i) => bytes[i] !== b)) return 'not a Meshpad snapshot'
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(4, true) !== generation) return 'generation does not match its file name'
  if (view.getUint32(8, true) !== bytes.byteLength - HEADER) return 'length does not match the file size'
  if (view.getUint32(12, true) !== checksum(bytes)) return 'checksum mismatch'
  return bytes.subarray(HEADER)
}

function checksum(file: Uint8Array): number {
  return crc32(file.subarray(HEADER), crc32(file.subarray(0, 12)))
}
