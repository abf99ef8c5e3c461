/**
 * LAN hints: the format is pinned by a test vector, they rotate every 10 minutes, and a window
 * boundary between two nodes' clocks never breaks recognition (the clock is injected throughout).
 */
import { describe, expect, it } from 'vitest'
import {
  advertisedHints,
  HINT_WINDOW_MS,
  hintWindow,
  lanHint,
  recognisedHints,
} from '../../../src/main/discovery'
import { encodeTxt, parseTxt } from '../../../src/main/discovery/txt'

const key = new Uint8Array(32).fill(7)
const other = new Uint8Array(32).fill(8)
/** A moment 1 s before a window boundary. */
const boundary = 2_990_001 * HINT_WINDOW_MS
const justBefore = boundary - 1000
const justAfter = boundary + 1000

describe('LAN hints', () => {
  it('are the first 6 bytes of HMAC-SHA256(key, "meshpad/lan-hint/v1" ‖ uint64be(window)), in hex', () => {
    // Computed independently: node -e "createHmac('sha256', Buffer.alloc(32, 7)).update(…)"
    expect(lanHint(key, 2_990_000)).toBe('adf1d7276249')
    expect(hintWindow(2_990_000 * HINT_WINDOW_MS + HINT_WINDOW_MS - 1)).toBe(2_990_000)
    expect(lanHint(key, 2_990_001)).not.toBe(lanHint(key, 2_990_000))
    expect(lanHint(other, 2_990_000)).not.toBe(lanHint(key, 2_990_000))
  })

  it('advertise the current and previous window, and rotate at the boundary', () => {
    const before = advertisedHints([key], justBefore)
    const after = advertisedHints([key], justAfter)
    expect(before).toEqual([lanHint(key, 2_990_000), lanHint(key, 2_989_999)])
    expect(after).toEqual([lanHint(key, 2_990_001), lanHint(key, 2_990_000)])
    // One hint carries over the boundary; one is new, one is gone.
    expect(after.filter((h) => before.includes(h))).toEqual([lanHint(key, 2_990_000)])
  })

  it('a boundary between two clocks does not break recognition, in either direction', () => {
    // A's clock is just before the boundary, B's just after (or the two announce a second apart).
    expect(advertisedHints([key], justAfter).some((h) => recognisedHints([key], justBefore).has(h))).toBe(
      true,
    )
    expect(advertisedHints([key], justBefore).some((h) => recognisedHints([key], justAfter).has(h))).toBe(
      true,
    )
    // Clocks up to one window apart still match; hints of another key never do.
    const later = justBefore + HINT_WINDOW_MS
    expect(advertisedHints([key], later).some((h) => recognisedHints([key], justBefore).has(h))).toBe(true)
    expect(advertisedHints([other], justBefore).some((h) => recognisedHints([key], justBefore).has(h))).toBe(
      false,
    )
  })

  it('stop matching once the windows are far apart: a hint seen today says nothing tomorrow', () => {
    const old = advertisedHints([key], justBefore)
    const recognisedLater = recognisedHints([key], justBefore + 3 * HINT_WINDOW_MS)
    expect(old.some((h) => recognisedLater.has(h))).toBe(false)
  })

  it('round-trip through TXT, which keeps at most 64 and drops anything that is not a hint', () => {
    const hints = Array.from({ length: 70 }, (_, i) => lanHint(key, i))
    const txt = encodeTxt('1', hints)
    expect(txt).toHaveLength(65)
    expect(txt[0]!.toString()).toBe('v=1')
    const parsed = parseTxt([
      ...txt,
      Buffer.from('h=XYZ'),
      Buffer.from('h=0123456789abc'),
      Buffer.from('junk'),
    ])
    expect(parsed?.version).toBe('1')
    expect(parsed?.hints).toEqual(hints.slice(0, 64))
    expect(parseTxt('v=1')).toBeNull()
    expect(parseTxt([Buffer.from('v=1; rm -rf')])?.version).toBeNull()
    expect(parseTxt([Buffer.from('H=ABCDEFABCDEF')])?.hints).toEqual([])
    expect(parseTxt([Buffer.from('h=ABCDEFABCDEF')])?.hints).toEqual(['abcdefabcdef'])
  })
})
