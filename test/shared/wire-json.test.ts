import { describe, expect, it } from 'vitest'
import { decodeWire, encodeWire, encodeWireParts } from '../../src/shared/wire-json'
import { seededRandom } from '../../src/shared/random'

const frameOf = (json: string, tail: number[] = []): Uint8Array => {
  const head = new TextEncoder().encode(json)
  const frame = new Uint8Array(4 + head.length + tail.length)
  new DataView(frame.buffer).setUint32(0, head.length, true)
  frame.set(head, 4)
  frame.set(tail, 4 + head.length)
  return frame
}

describe('browser-mode wire format', () => {
  it('round-trips messages with any number of byte arrays, as raw bytes after the JSON', () => {
    const batch = Uint8Array.from({ length: 1000 }, (_, i) => i & 255)
    const message = {
      kind: 'reply',
      id: 7,
      result: {
        ok: true,
        value: { state: batch, title: 'Plän 😀', empty: new Uint8Array(0), list: [Uint8Array.of(1, 2)] },
      },
    }
    const frame = encodeWire(message)
    expect(decodeWire(frame)).toEqual(message)
    // No base64: the frame is the JSON plus the bytes themselves.
    const jsonLength = new DataView(frame.buffer).getUint32(0, true)
    expect(frame.length).toBe(4 + jsonLength + 1000 + 2)
  })

  it('keeps a decoded array independent of the frame it came in', () => {
    const frame = encodeWire({ b: Uint8Array.of(9, 9, 9) })
    const decoded = decodeWire(frame) as { b: Uint8Array }
    frame.fill(0)
    expect([...decoded.b]).toEqual([9, 9, 9])
    expect(decoded.b.buffer.byteLength).toBe(3)
  })

  it('sends a document as parts that make up the frame, its bytes as they are, and reads it in place', () => {
    const state = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255)
    const message = { kind: 'reply', id: 1, result: { ok: true, value: { state, small: Uint8Array.of(5) } } }
    const parts = encodeWireParts(message)
    expect(parts[1]).toBe(state) // not copied on the way out
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      joined.set(p, at)
      at += p.length
    }
    expect(joined).toEqual(encodeWire(message))
    const decoded = decodeWire(joined) as typeof message
    expect(decoded).toEqual(message)
    // Most of the frame: a view of it, not a 10 MB copy; a small array is still its own.
    expect(decoded.result.value.state.buffer).toBe(joined.buffer)
    expect(decoded.result.value.small.buffer.byteLength).toBe(1)
  })

  it('refuses malformed frames with an error, never reading outside them', () => {
    expect(() => decodeWire(new Uint8Array(3))).toThrow(RangeError)
    const lying = frameOf('{}')
    new DataView(lying.buffer).setUint32(0, 99, true)
    expect(() => decodeWire(lying)).toThrow(RangeError)
    for (const ref of ['[0,5]', '[-1,1]', '[0.5,1]', '[1]', '[0,1,2]', '["0",1]', '[9007199254740992,1]']) {
      expect(() => decodeWire(frameOf(`{"x":{"$bytes":${ref}}}`, [1, 2, 3])), ref).toThrow(RangeError)
    }
    expect(() => decodeWire(frameOf('{"x":'))).toThrow(SyntaxError)
    const badUtf8 = frameOf('""')
    badUtf8[5] = 0xff
    expect(() => decodeWire(badUtf8)).toThrow(TypeError)
    // An object that merely has a $bytes key among others stays an object.
    expect(decodeWire(frameOf('{"x":{"$bytes":[0,1],"y":1}}', [5]))).toEqual({ x: { $bytes: [0, 1], y: 1 } })
  })

  it('survives random corruption of real frames without crashing or hanging', () => {
    const rand = seededRandom(11)
    const frame = encodeWire({
      kind: 'event',
      event: { type: 'ops', docId: 'a'.repeat(32), batch: Uint8Array.of(1, 2, 3, 4) },
    })
    for (let i = 0; i < 2000; i++) {
      const bad = frame.slice(0, Math.max(0, frame.length - Math.floor(rand() * 8)))
      for (let k = 0; k < 3; k++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256)
      try {
        decodeWire(bad)
      } catch (err) {
        expect(err instanceof RangeError || err instanceof SyntaxError || err instanceof TypeError).toBe(true)
      }
    }
  })
})
