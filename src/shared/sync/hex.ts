/** Lower-case hex of bytes, and back (device keys and IDs travel as hex in APIs and logs). */
export function toHex(bytes: Uint8Array): string {
  // Joined, not appended to: `s +=` makes a rope that keeps every two-character piece alive for as
  // long as the string is, about 1.6 KB for a device key, and a node keeps one per replica it binds.
  const parts = new Array<string>(bytes.length)
  for (let i = 0; i < bytes.length; i++) parts[i] = BYTE_HEX[bytes[i]!]!
  return parts.join('')
}

const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new TypeError('not lower-case hex')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

const encoder = new TextEncoder()
export const utf8 = (s: string): Uint8Array => encoder.encode(s)

export { concatBytes } from '../crdt/bytes'
