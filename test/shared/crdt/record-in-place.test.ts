/**
 * A long insert's record made of the text's UTF-8 as the caller holds it (a file as read), its head
 * written into the room before those bytes (Utf8Bytes in text-codec.ts): the same bytes as the record
 * encoded anew, in the caller's buffer, with no copy of the text.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'

const RECORD = 7
const clock = (): number => 1_700_000_000_000

/** `text`'s UTF-8 in a buffer of its own, after `room` bytes of garbage. */
function withRoom(text: string, room: number): { buffer: Uint8Array; bytes: Uint8Array } {
  const utf8 = new TextEncoder().encode(text)
  const buffer = new Uint8Array(room + utf8.length).fill(0xaa)
  buffer.set(utf8, room)
  return { buffer, bytes: buffer.subarray(room) }
}

describe('a record made in the text’s own buffer', () => {
  const texts = {
    ascii: 'const a = b + c;\n'.repeat(5_000),
    'non-ASCII': 'Grüße, 世界 🙂 — ﻿mark\n'.repeat(3_000),
  }
  for (const [name, text] of Object.entries(texts)) {
    it(`is the record encoded anew, written around the ${name} bytes in place`, () => {
      const expected = new TextDoc('import', { clock }).localInsert(0, text, { prefix: RECORD })
      const { buffer, bytes } = withRoom(text, 256)
      const doc = new TextDoc('import', { clock })
      const record = doc.localInsert(0, text, { prefix: RECORD, utf8: { bytes, room: 256 } })
      expect(record.buffer).toBe(buffer.buffer) // no fresh buffer: the head went into the room
      expect(record.byteOffset + record.length).toBe(buffer.length)
      expect(Buffer.from(record).equals(expected)).toBe(true)
      expect(doc.toString()).toBe(text)
      const reader = new TextDoc('reader')
      reader.applyRemote(record.subarray(1))
      expect(reader.toString()).toBe(text)
    })
  }

  it('is encoded anew when the head does not fit in the room', () => {
    const text = 'x'.repeat(100_000)
    const expected = new TextDoc('import', { clock }).localInsert(0, text, { prefix: RECORD })
    const { buffer, bytes } = withRoom(text, 4)
    const record = new TextDoc('import', { clock }).localInsert(0, text, {
      prefix: RECORD,
      utf8: { bytes, room: 4 },
    })
    expect(record.buffer).not.toBe(buffer.buffer)
    expect(Buffer.from(record).equals(expected)).toBe(true)
    expect(buffer.subarray(0, 4).every((b) => b === 0xaa)).toBe(true) // the room is left alone
    // Room claimed where the bytes have none before them: none is taken.
    const alone = new TextEncoder().encode(text)
    const plain = new TextDoc('import', { clock }).localInsert(0, text, {
      prefix: RECORD,
      utf8: { bytes: alone, room: 256 },
    })
    expect(plain.buffer).not.toBe(alone.buffer)
    expect(Buffer.from(plain).equals(expected)).toBe(true)
  })

  it('refuses bytes that cannot be the text’s UTF-8', () => {
    const doc = new TextDoc('import', { clock })
    const { bytes } = withRoom('short', 256)
    expect(() =>
      doc.localInsert(0, 'far longer than five', { prefix: RECORD, utf8: { bytes, room: 256 } }),
    ).toThrow(RangeError)
    expect(doc.length).toBe(0)
  })
})
