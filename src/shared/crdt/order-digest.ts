/**
 * What the digest of a text's order covers (docs/PROTOCOL.md, "Canonical order"): the text as a
 * sequence of IDs, tombstones included, as its longest runs (`TextDoc.forEachRun`), each written
 * `<length of the replica ID>:<replica ID><first counter>,<length>;`. A node hashes it for every sync
 * request (src/main/node/text-order.ts) and a window hashes the same bytes to ask its node whether
 * both hold the text in one order (src/renderer/src/binding/order-check.ts), so both read it here.
 *
 * Replica IDs are length-prefixed because they come from peers: no two sequences encode alike. The
 * bytes are this text's UTF-8; chunks end only between runs, so a chunk never splits a character.
 */
import { concatBytes } from './bytes'
import type { TextDoc } from './text-doc'

/** What is read of a text: its runs in sequence order. */
export type OrderedText = Pick<TextDoc, 'forEachRun'>

/** Roughly how many UTF-16 units a chunk holds before it is handed over. */
const CHUNK_UNITS = 1 << 16

/**
 * The encoding of `text`'s order, in chunks handed to `take` in order (for a hash that is fed
 * incrementally, as node:crypto's is): their concatenation is the encoding.
 */
export function forEachOrderChunk(text: OrderedText, take: (chunk: string) => void): void {
  let chunk = ''
  text.forEachRun((replica, counter, length) => {
    chunk += `${replica.length}:${replica}${counter},${length};`
    if (chunk.length >= CHUNK_UNITS) {
      take(chunk)
      chunk = ''
    }
  })
  take(chunk)
}

/** The encoding of `text`'s order as one array of UTF-8 bytes (for a hash that takes it whole, as WebCrypto's). */
export function orderBytes(text: OrderedText): Uint8Array {
  const utf8 = new TextEncoder()
  const parts: Uint8Array[] = []
  forEachOrderChunk(text, (chunk) => parts.push(utf8.encode(chunk)))
  return concatBytes(...parts)
}
