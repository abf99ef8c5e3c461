/**
 * The browser-mode wire format of the app API: JSON text frames over one WebSocket, with every
 * Uint8Array (op batches, document state) carried as `{ "$bytes": "<base64>" }`. JSON keeps the frames
 * readable in devtools and needs no framing of its own; base64 costs a third more bytes, which is
 * nothing next to loopback bandwidth. Pure code, shared by the server (src/main) and the client.
 */
import type { ApiEvent, ApiRequest } from './api'

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

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const LOOKUP = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i

export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = []
  let chunk = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0
    const n = (a << 16) | (b << 8) | c
    chunk +=
      ALPHABET[n >> 18]! +
      ALPHABET[(n >> 12) & 63]! +
      (i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63]! : '=') +
      (i + 2 < bytes.length ? ALPHABET[n & 63]! : '=')
    // Flushing now and then keeps string concatenation from building a deep rope on big documents.
    if (chunk.length >= 8192) {
      parts.push(chunk)
      chunk = ''
    }
  }
  parts.push(chunk)
  return parts.join('')
}

export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new RangeError('base64: length is not a multiple of 4')
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  const out = new Uint8Array((text.length / 4) * 3 - pad)
  let o = 0
  for (let i = 0; i < text.length; i += 4) {
    let n = 0
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j)
      const v = code === 61 && i + j >= text.length - pad ? 0 : code < 128 ? LOOKUP[code]! : -1
      if (v < 0) throw new RangeError('base64: invalid character')
      n = (n << 6) | v
    }
    if (o < out.length) out[o++] = (n >> 16) & 255
    if (o < out.length) out[o++] = (n >> 8) & 255
    if (o < out.length) out[o++] = n & 255
  }
  return out
}

export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { $bytes: toBase64(v) } : v))
}

export function decodeWire(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v)
      const bytes = (v as { $bytes?: unknown }).$bytes
      if (keys.length === 1 && typeof bytes === 'string') return fromBase64(bytes)
    }
    return v
  })
}
