/**
 * The browser-mode wire format of the app API: one binary WebSocket frame per message — a 32-bit
 * little-endian length, that many bytes of JSON (UTF-8), then every Uint8Array of the message end to
 * end, each referred to in the JSON as `{ "$bytes": [offset, length] }` within that tail. Op batches and
 * document states (10 MB and more) so cross as they are: no base64 to build, parse and collect, which
 * took over a second for a 10 MB document. Pure code, shared by the server (src/main) and the client.
 */
import type { ApiEvent, ApiRequest } from './api'
import { concatBytes } from './crdt/bytes'

/** Client → server: one request; `id` pairs it with its reply. */
export interface WireRequest {
  readonly id: number
  readonly method: ApiRequest
  readonly args: unknown[]
}

/** Server → client: a reply to a request, or an event. */
export type WireMessage =
  | { readonly kind: 'reply'; readonly id: number; readonly result: unknown }
  | { readonly kind: 'event'; readonly event: ApiEvent }

const utf8 = new TextEncoder()
// ignoreBOM: a U+FEFF is content, never a mark to drop (see src/shared/crdt/bytes.ts).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function encodeWire(value: unknown): Uint8Array {
  return concatBytes(...encodeWireParts(value))
}

/**
 * The frame of `value` as parts to send one after another as one message (the length and JSON, then
 * each byte array as it is): a 10 MB document goes out without being copied into a frame first.
 */
export function encodeWireParts(value: unknown): Uint8Array[] {
  const blobs: Uint8Array[] = []
  let size = 0
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (!(v instanceof Uint8Array)) return v
    const ref = { $bytes: [size, v.length] }
    blobs.push(v)
    size += v.length
    return ref
  })
  const encoded = utf8.encode(json)
  const head = new Uint8Array(4 + encoded.length)
  new DataView(head.buffer).setUint32(0, encoded.length, true)
  head.set(encoded, 4)
  return [head, ...blobs]
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The message in a frame; throws RangeError or SyntaxError for a malformed one (never reads outside it). */
export function decodeWire(frame: Uint8Array): unknown {
  if (frame.length < 4) throw new RangeError('wire: frame shorter than its header')
  const jsonLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true)
  if (4 + jsonLength > frame.length) throw new RangeError('wire: JSON runs past the frame')
  const tail = frame.subarray(4 + jsonLength)
  return JSON.parse(strictUtf8.decode(frame.subarray(4, 4 + jsonLength)), (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
    const keys = Object.keys(v)
    const ref = (v as { $bytes?: unknown }).$bytes
    if (keys.length !== 1 || !Array.isArray(ref)) return v
    const [offset, length] = ref as unknown[]
    if (ref.length !== 2 || !isCount(offset) || !isCount(length) || offset + length > tail.length) {
      throw new RangeError('wire: a byte reference points outside the frame')
    }
    // A copy, so that a small array does not keep the whole frame alive; an array that is most of the
    // frame (a document's state) is used in place: copying 10 MB costs more than the rest it keeps.
    return length * 2 >= frame.length
      ? tail.subarray(offset, offset + length)
      : tail.slice(offset, offset + length)
  })
}
