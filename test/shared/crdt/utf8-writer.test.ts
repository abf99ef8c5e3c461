/**
 * ByteWriter.utf8 encodes a long ASCII string in place (a file's import: one buffer of the text's size,
 * handed over by `take`) and anything else through TextEncoder: both must be the text's UTF-8 exactly.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { ByteReader, ByteWriter } from '../../../src/shared/crdt/bytes'

const ascii = (n: number): string => 'let x = a + b; // ascii only\n'.repeat(Math.ceil(n / 29)).slice(0, n)
const TEXTS: Record<string, string> = {
  'ASCII, long': ascii(200_000),
  'not ASCII, long': `${ascii(100_000)}é😀 ünïcödé\n${ascii(5_000)}`,
  'ASCII, short': 'hello',
  'not ASCII, short': 'héllo 😀',
}

describe('ByteWriter.utf8 of a long string', () => {
  for (const [name, text] of Object.entries(TEXTS)) {
    it(`round-trips (${name})`, () => {
      const w = new ByteWriter()
      w.uint(7)
      w.utf8(text)
      const bytes = w.take()
      expect(bytes).toEqual(new Uint8Array([7, ...new TextEncoder().encode(text)]))
      const r = new ByteReader(bytes)
      expect(r.uint()).toBe(7)
      expect(new TextDecoder().decode(r.bytes(bytes.length - 1))).toBe(text)
    })

    it(`encodes an insert that decodes back (${name})`, () => {
      const doc = new TextDoc('author')
      doc.localInsert(0, 'ab')
      const replica = new TextDoc('reader')
      replica.applyRemote(doc.changesSince({}))
      replica.applyRemote(doc.localInsert(1, text))
      replica.applyRemote(doc.changesSince({}))
      expect(replica.toString()).toBe(`a${text}b`)
      expect(doc.toString()).toBe(`a${text}b`)
    })
  }
})

/**
 * ByteWriter.string writes a short ASCII string (a replica ID, one or two an op in a stream's digest)
 * in place, and gives up on the first unit outside ASCII for TextEncoder: the bytes must be the same
 * either way, and a string it gave up on must leave nothing of its try behind.
 */
describe('ByteWriter.string', () => {
  const STRINGS: Record<string, string> = {
    empty: '',
    'a replica ID': 'a3f09c21b7d4e6f8a3f09c21b7d4e6f8',
    'ASCII, 127 units (the longest tried in place)': ascii(127),
    'ASCII, 128 units (a two-byte length)': ascii(128),
    'ASCII, then é at the end': `${ascii(40)}é`,
    'not ASCII from the start': '😀 héllo',
    'a DEL and a NUL (still ASCII)': '\u007f\u0000x',
    'U+0080 (the first unit outside ASCII)': 'ab\u0080',
  }
  for (const [name, s] of Object.entries(STRINGS)) {
    it(`is the length-prefixed UTF-8 of the string (${name})`, () => {
      const w = new ByteWriter(4) // small: the in-place path must grow the buffer first
      w.byte(9)
      w.string(s)
      w.byte(9)
      const encoded = new TextEncoder().encode(s)
      const length = new ByteWriter()
      length.uint(encoded.length)
      const bytes = w.take()
      expect(bytes).toEqual(new Uint8Array([9, ...length.take(), ...encoded, 9]))
      const r = new ByteReader(bytes)
      expect(r.byte()).toBe(9)
      expect(r.string()).toBe(s)
      expect(r.byte()).toBe(9)
    })
  }
})
