/**
 * The TXT record: `v=1` and one `h=<hint>` string per hint. Repeating a key departs from DNS-SD's
 * "first occurrence wins" (RFC 6763 §6.4): generic browsers see `v` and one hint, which is all they
 * need; Meshpad reads every `h=`. Parsing is defensive: the record comes from anyone on the LAN.
 */
import { isHint } from './hints'

/** Hints this node advertises at most (32 documents × 2 windows), which keeps a response near 1 KB. */
export const MAX_ADVERTISED_HINTS = 64
/** Hints kept per remote peer; the rest are ignored. */
export const MAX_HINTS_PER_PEER = 64
/** TXT strings looked at per record: a giant TXT costs no more than this. */
const MAX_STRINGS = 256

export interface TxtInfo {
  /** The `v=` value, or null when absent or not a short token. */
  readonly version: string | null
  readonly hints: readonly string[]
}

export function encodeTxt(version: string, hints: readonly string[]): Buffer[] {
  const strings = [`v=${version}`, ...hints.slice(0, MAX_ADVERTISED_HINTS).map((h) => `h=${h}`)]
  return strings.map((s) => Buffer.from(s, 'utf8'))
}

/** Reads a decoded TXT rdata (dns-packet gives an array of buffers). Null when it is not one. */
export function parseTxt(data: unknown): TxtInfo | null {
  if (!Array.isArray(data)) return null
  let version: string | null = null
  const hints = new Set<string>()
  for (const item of data.slice(0, MAX_STRINGS)) {
    if (!(item instanceof Uint8Array) || item.length < 2 || item.length > 255) continue
    const text = Buffer.from(item.buffer, item.byteOffset, item.length).toString('latin1')
    if (text.startsWith('v=') && version === null) {
      const v = text.slice(2)
      if (/^[0-9A-Za-z.]{1,8}$/.test(v)) version = v
    } else if (text.startsWith('h=') && hints.size < MAX_HINTS_PER_PEER) {
      const h = text.slice(2).toLowerCase()
      if (isHint(h)) hints.add(h)
    }
  }
  return { version, hints: [...hints] }
}
