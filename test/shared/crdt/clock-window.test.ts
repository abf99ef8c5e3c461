/**
 * Bounded hybrid-clock stamps (hlc.ts) and the LwwMap's refusal of writes outside them: a write whose
 * stamp is outside the static bounds does not decode, one further ahead of local time than the drift
 * window is refused by `checkStampWindow`, and neither is applied, stored or adopted by the clock. A
 * peer whose clock is minutes off still merges as usual.
 */
import { describe, expect, it } from 'vitest'
import {
  CrdtDecodeError,
  LwwMap,
  MAX_DRIFT_MS,
  MAX_LOGICAL,
  MAX_WALL,
  StampAheadError,
  checkStampWindow,
} from '../../../src/shared/crdt'
import { HybridClock, isTooFarAhead, isValidStamp } from '../../../src/shared/crdt/hlc'
import { forgedWrite } from './forged-stamps'

const NOW = 1_700_000_000_000
const MINUTE = 60_000

describe('HybridClock bounds', () => {
  it('issues stamps within the static bounds, whatever the wall clock and whatever it observed', () => {
    let now = NOW
    const clock = new HybridClock(() => now)
    expect(clock.tick()).toEqual({ wall: NOW, logical: 0 })
    expect(clock.tick()).toEqual({ wall: NOW, logical: 1 })
    // A full logical counter moves the wall part on by one millisecond instead of overflowing.
    clock.observe({ wall: NOW, logical: MAX_LOGICAL })
    expect(clock.tick()).toEqual({ wall: NOW + 1, logical: 0 })
    // A wall clock beyond MAX_WALL (a broken RTC) is read as MAX_WALL…
    now = 2 ** 53
    expect(clock.tick()).toEqual({ wall: MAX_WALL, logical: 0 })
    // …and at the very end the clock refuses rather than issue an undecodable stamp.
    clock.observe({ wall: MAX_WALL, logical: MAX_LOGICAL })
    expect(() => clock.tick()).toThrow(RangeError)
  })

  it('refuses to observe a stamp outside the static bounds', () => {
    const clock = new HybridClock(() => NOW)
    for (const t of [
      { wall: 2 ** 53 - 1, logical: 0 },
      { wall: NOW, logical: 2 ** 53 - 1 },
      { wall: MAX_WALL + 1, logical: 0 },
      { wall: NOW, logical: MAX_LOGICAL + 1 },
      { wall: -1, logical: 0 },
      { wall: 1.5, logical: 0 },
    ]) {
      expect(isValidStamp(t)).toBe(false)
      expect(() => clock.observe(t)).toThrow(RangeError)
    }
    expect(clock.tick()).toEqual({ wall: NOW, logical: 0 }) // nothing was adopted
  })

  it('has a drift window of one hour ahead of local time, and none behind', () => {
    expect(MAX_DRIFT_MS).toBe(60 * MINUTE)
    expect(isTooFarAhead({ wall: NOW + MAX_DRIFT_MS, logical: MAX_LOGICAL }, NOW)).toBe(false)
    expect(isTooFarAhead({ wall: NOW + MAX_DRIFT_MS + 1, logical: 0 }, NOW)).toBe(true)
    expect(isTooFarAhead({ wall: 0, logical: 0 }, NOW)).toBe(false) // old writes are always fine
  })
})

describe('LwwMap refuses stamps outside the bounds', () => {
  const state = (m: LwwMap<unknown>): unknown => ({
    entries: m.entries(),
    version: m.version(),
    pending: m.pendingCount(),
  })

  it('a write stamped (2^53−1, 2^53−1) does not decode: not applied, not adopted by the clock', () => {
    const owner = new LwwMap<unknown>('owner', { clock: () => NOW })
    const other = new LwwMap<unknown>('other', { clock: () => NOW })
    other.applyRemote(owner.set('title', 'plan'))
    const before = state(owner)
    for (const [wall, logical] of [
      [2 ** 53 - 1, 2 ** 53 - 1],
      [2 ** 53 - 1, 0],
      [NOW, 2 ** 53 - 1],
      [MAX_WALL + 1, 0],
      [NOW, MAX_LOGICAL + 1],
    ] as const) {
      const forged = forgedWrite('mallory', 1, 'title', 'pwned', wall, logical)
      expect(() => owner.applyRemote(forged)).toThrow(CrdtDecodeError)
      expect(() => checkStampWindow(forged, NOW)).toThrow(CrdtDecodeError)
      expect(state(owner)).toEqual(before)
    }
    // The owner's clock was not moved: its next write is stamped now, and every replica decodes it.
    const next = owner.set('title', 'still mine')
    expect(other.applyRemote(next)).toEqual([{ key: 'title', value: 'still mine' }])
    expect(other.entries()).toEqual(owner.entries())
  })

  it('a write stamped more than an hour ahead is refused for now, and accepted once local time catches up', () => {
    let now = NOW
    const map = new LwwMap<unknown>('local', { clock: () => now })
    map.set('title', 'mine')
    const ahead = forgedWrite('fastclock', 1, 'title', 'from the future', NOW + 2 * MAX_DRIFT_MS, 0)
    let thrown: unknown
    try {
      checkStampWindow(ahead, now)
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(StampAheadError)
    expect(thrown).toBeInstanceOf(CrdtDecodeError) // refused by anything that refuses malformed batches
    expect((thrown as StampAheadError).message).toMatch(/120 min ahead/)
    expect(map.get('title')).toBe('mine')
    // Exactly at the edge of the window it is accepted.
    now = NOW + MAX_DRIFT_MS
    checkStampWindow(ahead, now)
    map.applyRemote(ahead)
    expect(map.get('title')).toBe('from the future')
    // Accepted, it is adopted like any stamp: a later local write still wins.
    map.set('title', 'after')
    expect(map.get('title')).toBe('after')
  })

  it('a peer whose clock is 20 minutes off either way merges as usual', () => {
    const fast = new LwwMap<string>('fast', { clock: () => NOW + 20 * MINUTE })
    const slow = new LwwMap<string>('slow', { clock: () => NOW - 20 * MINUTE })
    const right = new LwwMap<string>('right', { clock: () => NOW })
    const batches = [fast.set('a', 'fast'), slow.set('b', 'slow'), right.set('c', 'right')]
    for (const m of [fast, slow, right]) {
      for (const b of batches) {
        checkStampWindow(b, NOW - 20 * MINUTE) // even the slow clock's window takes them all
        m.applyRemote(b)
      }
    }
    // The slow replica saw the fast one's write, so its own next write wins over it.
    const later = slow.set('a', 'slow, later')
    checkStampWindow(later, NOW)
    for (const m of [fast, right]) m.applyRemote(later)
    for (const m of [fast, slow, right]) {
      expect(m.entries()).toEqual([
        ['a', 'slow, later'],
        ['b', 'slow'],
        ['c', 'right'],
      ])
    }
  })

  it('a wall clock past the bounds still makes writes every replica decodes', () => {
    const broken = new LwwMap<string>('broken', { clock: () => 2 ** 53 + 12345 })
    const other = new LwwMap<string>('other', { clock: () => NOW })
    const batch = broken.set('k', 'v')
    expect(() => other.applyRemote(batch)).not.toThrow()
    expect(other.get('k')).toBe('v')
    // (Its peers refuse it by the window, not as malformed: its clock is wrong, it is not hostile.)
    expect(() => checkStampWindow(batch, NOW)).toThrow(StampAheadError)
  })
})
