import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  FrameDecoder,
  FrameError,
  frameHeaderSize,
  MAX_FRAME_HEADER_SIZE,
} from '../../../src/shared/sync/framing'

/** mulberry32: enough for picking sizes and cut points reproducibly. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000
  }
}

function payload(length: number, tag: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + tag) & 0xff
  return out
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

function catchFrameError(fn: () => unknown): FrameError {
  try {
    fn()
  } catch (error) {
    if (error instanceof FrameError) return error
    throw error
  }
  throw new Error('expected a FrameError')
}

describe('encodeFrame', () => {
  it('writes a minimal LEB128 length before the payload', () => {
    expect([...encodeFrame(new Uint8Array(0))]).toEqual([0])
    expect([...encodeFrame(Uint8Array.of(7, 8))]).toEqual([2, 7, 8])
    expect([...encodeFrame(new Uint8Array(127)).subarray(0, 1)]).toEqual([127])
    expect([...encodeFrame(new Uint8Array(128)).subarray(0, 2)]).toEqual([0x80, 0x01])
    expect([...encodeFrame(new Uint8Array(300)).subarray(0, 2)]).toEqual([0xac, 0x02])
    for (const n of [0, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, DEFAULT_MAX_FRAME_SIZE]) {
      expect(encodeFrame(new Uint8Array(n)).length).toBe(n + frameHeaderSize(n))
    }
    expect(frameHeaderSize(0xffff_ffff)).toBe(MAX_FRAME_HEADER_SIZE)
  })

  it('refuses a payload above the cap, so the sender learns it and not the peer', () => {
    const error = catchFrameError(() => encodeFrame(new Uint8Array(11), { maxFrameSize: 10 }))
    expect(error.code).toBe('FRAME_TOO_LARGE')
    expect(encodeFrame(new Uint8Array(10), { maxFrameSize: 10 }).length).toBe(11)
  })

  it('validates the cap', () => {
    expect(() => encodeFrame(new Uint8Array(0), { maxFrameSize: -1 })).toThrow(RangeError)
    expect(() => new FrameDecoder({ maxFrameSize: 2 ** 32 })).toThrow(RangeError)
    expect(() => new FrameDecoder({ maxFrameSize: 1.5 })).toThrow(RangeError)
  })
})

describe('FrameDecoder', () => {
  it('reassembles frames cut at random boundaries (seeded)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = prng(seed)
      const cap = 20_000
      const sizes = [0, 1, 127, 128, 16383, 16384, cap]
      const frames = Array.from({ length: 60 }, (_, i) => {
        const r = random()
        const length = r < 0.3 ? sizes[Math.floor(random() * sizes.length)]! : Math.floor(random() ** 3 * cap)
        return payload(length, seed * 1000 + i)
      })
      const stream = concat(frames.map((f) => encodeFrame(f, { maxFrameSize: cap })))
      const decoder = new FrameDecoder({ maxFrameSize: cap })
      const received: Uint8Array[] = []
      let maxBuffered = 0
      let pos = 0
      while (pos < stream.length) {
        // Mostly small cuts, sometimes large ones that hold several frames.
        const max = random() < 0.2 ? 60_000 : 300
        const end = Math.min(stream.length, pos + 1 + Math.floor(random() * max))
        received.push(...decoder.push(stream.subarray(pos, end)))
        maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes)
        pos = end
      }
      const context = `seed ${seed} (rerun: this test with seed ${seed})`
      expect(maxBuffered, context).toBeLessThanOrEqual(cap + MAX_FRAME_HEADER_SIZE)
      expect(decoder.idle, context).toBe(true)
      expect(received.length, context).toBe(frames.length)
      const mismatch = received.findIndex((frame, i) => !sameBytes(frame, frames[i]!))
      expect(mismatch, context).toBe(-1)
      decoder.end()
    }
  })

  it('decodes byte by byte, and many frames from one chunk', () => {
    const frames = Array.from({ length: 500 }, (_, i) => payload(i % 200, i))
    const stream = concat(frames.map((f) => encodeFrame(f)))

    const whole = new FrameDecoder().push(stream)
    expect(whole).toEqual(frames)

    const decoder = new FrameDecoder()
    const bytewise: Uint8Array[] = []
    for (let i = 0; i < stream.length; i++) bytewise.push(...decoder.push(stream.subarray(i, i + 1)))
    expect(bytewise).toEqual(frames)
  })

  it('returns empty frames, also several in a row', () => {
    const decoder = new FrameDecoder()
    expect(decoder.push(Uint8Array.of(0, 0, 0))).toEqual([
      new Uint8Array(0),
      new Uint8Array(0),
      new Uint8Array(0),
    ])
    expect(decoder.push(Uint8Array.of(0, 1, 9, 0))).toEqual([
      new Uint8Array(0),
      Uint8Array.of(9),
      new Uint8Array(0),
    ])
    expect(decoder.idle).toBe(true)
  })

  it('returns copies: the caller may reuse its chunk', () => {
    const chunk = encodeFrame(Uint8Array.of(1, 2, 3))
    const decoder = new FrameDecoder()
    const [frame] = decoder.push(chunk)
    chunk.fill(0)
    expect([...frame!]).toEqual([1, 2, 3])
  })

  it('refuses an oversize frame from its header, before buffering any of it', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 1000 })
    const header = encodeFrame(new Uint8Array(1001), { maxFrameSize: 2000 }).subarray(0, 2)
    const error = catchFrameError(() => decoder.push(header))
    expect(error.code).toBe('FRAME_TOO_LARGE')
    expect(decoder.bufferedBytes).toBe(0)
  })

  it('refuses a huge announced length at the first byte that exceeds the cap', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 100 })
    // 0xff alone already announces ≥ 127 > 100: refused without waiting for the rest of the header.
    expect(catchFrameError(() => decoder.push(Uint8Array.of(0xff))).code).toBe('FRAME_TOO_LARGE')
    const big = new FrameDecoder()
    expect(catchFrameError(() => big.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f))).code).toBe(
      'FRAME_TOO_LARGE',
    )
  })

  it('hands over the good frames that preceded a bad one, then stays failed', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 10 })
    const chunk = concat([encodeFrame(Uint8Array.of(1)), encodeFrame(Uint8Array.of(2, 2)), Uint8Array.of(11)])
    const error = catchFrameError(() => decoder.push(chunk))
    expect(error.code).toBe('FRAME_TOO_LARGE')
    expect(error.frames).toEqual([Uint8Array.of(1), Uint8Array.of(2, 2)])
    const again = catchFrameError(() => decoder.push(Uint8Array.of(0)))
    expect(again.code).toBe('FRAME_TOO_LARGE')
    expect(again.frames).toEqual([])
    expect(decoder.idle).toBe(false)
  })

  it('refuses malformed lengths: non-minimal, or longer than 5 bytes', () => {
    expect(catchFrameError(() => new FrameDecoder().push(Uint8Array.of(0x80, 0x00))).code).toBe(
      'FRAME_MALFORMED',
    )
    expect(catchFrameError(() => new FrameDecoder().push(Uint8Array.of(0x81, 0x80, 0x00))).code).toBe(
      'FRAME_MALFORMED',
    )
    const long = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)
    const decoder = new FrameDecoder({ maxFrameSize: 0xffff_ffff })
    expect(catchFrameError(() => decoder.push(long)).code).toBe('FRAME_MALFORMED')
  })

  it('end() tells a clean end from a truncated frame', () => {
    const clean = new FrameDecoder()
    clean.push(encodeFrame(Uint8Array.of(1, 2)))
    expect(() => clean.end()).not.toThrow()

    const inBody = new FrameDecoder()
    inBody.push(encodeFrame(Uint8Array.of(1, 2, 3)).subarray(0, 2))
    expect(inBody.bufferedBytes).toBe(2)
    expect(catchFrameError(() => inBody.end()).code).toBe('FRAME_MALFORMED')

    const inHeader = new FrameDecoder()
    inHeader.push(Uint8Array.of(0x80))
    expect(catchFrameError(() => inHeader.end()).message).toMatch(/header/)
  })

  it('with a cap of 0 accepts only empty frames', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 0 })
    expect(decoder.push(Uint8Array.of(0))).toEqual([new Uint8Array(0)])
    expect(catchFrameError(() => decoder.push(Uint8Array.of(1, 5))).code).toBe('FRAME_TOO_LARGE')
  })
})
