import { describe, expect, it } from 'vitest'
import { sameVersion } from '../../../src/shared/crdt'

describe('sameVersion', () => {
  it('compares counters, a missing replica counting 0, and reads only own keys', () => {
    expect(sameVersion({ a: 2, b: 1 }, { b: 1, a: 2 })).toBe(true)
    expect(sameVersion({ a: 2, z: 0 }, { a: 2 })).toBe(true)
    expect(sameVersion({ a: 2 }, { a: 3 })).toBe(false)
    expect(sameVersion({ a: 2 }, { a: 2, b: 1 })).toBe(false)
    // A replica named like Object's properties is a key like any other, never read off the prototype.
    const odd = Object.assign(Object.create(null) as Record<string, number>, { constructor: 0, toString: 1 })
    expect(sameVersion(odd, { toString: 1 })).toBe(true)
    expect(sameVersion({ toString: 1 }, odd)).toBe(true)
    expect(sameVersion(odd, {})).toBe(false)
  })
})
