import { describe, expect, it } from 'vitest'
import {
  compareKeys,
  decodeControl,
  encodeProposal,
  encodeVerdict,
  isArbiter,
  keepExisting,
  TRANSPORT_VERSION,
} from '../../../src/main/net/pairing'
import { MAX_RECORD, RecordGuard, WRITE_CHUNK } from '../../../src/main/net/wire-guard'

const hash = (fill: number): Uint8Array => new Uint8Array(64).fill(fill)

describe('pairing control frames', () => {
  it('round-trip', () => {
    expect(decodeControl(encodeProposal(null))).toEqual({ type: 'propose', live: null })
    expect(decodeControl(encodeProposal(hash(7)))).toEqual({ type: 'propose', live: hash(7) })
    expect(decodeControl(encodeVerdict(true))).toEqual({ type: 'verdict', accept: true })
    expect(decodeControl(encodeVerdict(false))).toEqual({ type: 'verdict', accept: false })
  })

  it('reject anything else with a reason', () => {
    const invalid = (frame: Uint8Array): string => {
      const decoded = decodeControl(frame)
      if (decoded.type !== 'invalid') throw new Error('expected invalid')
      return decoded.reason
    }
    expect(invalid(new Uint8Array(0))).toMatch(/did not start/)
    expect(invalid(Uint8Array.of(1, 2, 3, 4))).toMatch(/did not start/)
    const future = encodeVerdict(true)
    future[2] = TRANSPORT_VERSION + 1
    expect(invalid(future)).toMatch(/transport version/)
    expect(invalid(encodeProposal(new Uint8Array(10)))).toMatch(/malformed/)
    const verdict = encodeVerdict(true)
    verdict[4] = 2
    expect(invalid(verdict)).toMatch(/malformed/)
  })

  it('pick the arbiter and keep a connection only when both sides name it', () => {
    const small = Uint8Array.of(1, 2, 3)
    const large = Uint8Array.of(1, 2, 4)
    expect(compareKeys(small, large)).toBeLessThan(0)
    expect(isArbiter(small, large)).toBe(true)
    expect(isArbiter(large, small)).toBe(false)
    expect(keepExisting(hash(1), hash(1))).toBe(true)
    expect(keepExisting(hash(1), hash(2))).toBe(false)
    expect(keepExisting(hash(1), null)).toBe(false)
    expect(keepExisting(null, hash(1))).toBe(false)
  })
})

describe('RecordGuard', () => {
  const record = (length: number): Uint8Array => {
    const out = new Uint8Array(3 + length)
    out[0] = length & 0xff
    out[1] = (length >> 8) & 0xff
    out[2] = (length >> 16) & 0xff
    return out
  }

  it('follows record boundaries across arbitrary chunks', () => {
    const guard = new RecordGuard()
    const stream = new Uint8Array([
      ...record(WRITE_CHUNK + 17),
      ...record(0),
      ...record(5),
      ...record(MAX_RECORD),
    ])
    for (let pos = 0; pos < stream.length; pos += 1000) {
      expect(guard.accept(stream.subarray(pos, pos + 1000))).toBe(true)
    }
  })

  it('reports the first header above the limit, even split across chunks', () => {
    const guard = new RecordGuard(100)
    expect(guard.accept(record(100))).toBe(true)
    const bad = record(101).subarray(0, 3)
    expect(guard.accept(bad.subarray(0, 2))).toBe(true)
    expect(guard.accept(bad.subarray(2))).toBe(false)
    // "GET" read as a little-endian length is 5.5 MB.
    expect(new RecordGuard().accept(new TextEncoder().encode('GET / HTTP/1.1'))).toBe(false)
  })
})
