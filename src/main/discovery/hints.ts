/**
 * LAN hints: what a node advertises so that members of a document can recognise each other without
 * saying which document it is. A hint is the first 6 bytes (12 hex digits) of
 * HMAC-SHA256(document key, "meshpad/lan-hint/v1" ‖ uint64be(window)), where window = ⌊now / 10 min⌋.
 * Only holders of the key can compute or recognise it, and it changes every window, so a passive
 * listener cannot follow a document from one window to the next.
 *
 * A node advertises the hints of the current and previous windows; it recognises those of the
 * previous, current and next ones, so clocks a few minutes apart and a window boundary between two
 * announcements still match.
 */
import { createHmac } from 'node:crypto'

export const HINT_WINDOW_MS = 10 * 60 * 1000
export const HINT_HEX_LENGTH = 12
const LABEL = new TextEncoder().encode('meshpad/lan-hint/v1')

export const hintWindow = (now: number): number => Math.floor(now / HINT_WINDOW_MS)

export function lanHint(key: Uint8Array, window: number): string {
  const message = new Uint8Array(LABEL.length + 8)
  message.set(LABEL)
  new DataView(message.buffer).setBigUint64(LABEL.length, BigInt(window))
  return createHmac('sha256', key)
    .update(message)
    .digest()
    .subarray(0, HINT_HEX_LENGTH / 2)
    .toString('hex')
}

/** What to put in TXT for these keys at `now`: each key's hint for the current and previous window. */
export function advertisedHints(keys: Iterable<Uint8Array>, now: number): string[] {
  const w = hintWindow(now)
  const out = new Set<string>()
  for (const key of keys) {
    out.add(lanHint(key, w))
    out.add(lanHint(key, w - 1))
  }
  return [...out]
}

/** Every hint that a holder of one of these keys may advertise around `now`. */
export function recognisedHints(keys: Iterable<Uint8Array>, now: number): Set<string> {
  const w = hintWindow(now)
  const out = new Set<string>()
  for (const key of keys) for (const d of [-1, 0, 1]) out.add(lanHint(key, w + d))
  return out
}

export const isHint = (value: string): boolean => /^[0-9a-f]{12}$/.test(value)
