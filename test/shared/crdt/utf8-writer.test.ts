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
