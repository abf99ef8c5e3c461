/**
 * The canonical op stream of a replica (src/shared/crdt/op-stream.ts), what seals sign: the same bytes
 * however batches split or joined the ops, and different bytes for different ops.
 */
import { createHash } from 'node:crypto'
import { seededRandom } from '../../../src/shared/random'
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { ByteWriter } from '../../../src/shared/crdt/bytes'
import { streamStart, writeOpStream } from '../../../src/shared/crdt/op-stream'
import { splitTextBatch } from '../../../src/shared/crdt/text-codec'

/** SHA-256 of a replica's stream up to `counter`, from a document's log. */
function digest(doc: TextDoc, replica: string, counter: number): string {
  const { ids, agent, ops } = doc.opsOf(replica, 0)
  const w = new ByteWriter()
  expect(writeOpStream(w, ids, ops, agent, streamStart(), counter)).toBe(true)
  return createHash('sha256').update(w.view()).digest('hex')
}

/** Three replicas typing, backspacing and deleting runs concurrently, synced now and then. */
function history(seed: number): TextDoc[] {
  const random = seededRandom(seed)
  const docs = ['alice-replic', 'bob-replica0', 'carol-replic'].map((r) => new TextDoc(r))
  for (let step = 0; step < 300; step++) {
    const d = docs[Math.floor(random() * docs.length)]!
    const at = Math.floor(random() * (d.length + 1))
    if (random() < 0.65 || d.length < 3) d.localInsert(at, 'abcdefgh'.slice(0, 1 + Math.floor(random() * 4)))
    else d.localDelete(Math.min(at, d.length - 2), 1 + Math.floor(random() * 2))
    if (random() < 0.2)
      for (const other of docs) if (other !== d) other.applyRemote(d.changesSince(other.version()))
  }
  for (const a of docs) for (const b of docs) if (a !== b) b.applyRemote(a.changesSince(b.version()))
  return docs
}

describe('the op stream of a replica', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`is the same however its ops travelled (seed ${seed})`, () => {
      const docs = history(seed)
      const author = docs[0]!
      // A receiver that got everything as one batch cut into tiny pieces (inserts split mid-run).
      const tiny = new TextDoc('receiver-one')
      for (const part of splitTextBatch(author.changesSince({}), 120)) tiny.applyRemote(part)
      // One that got it as a whole and reloaded from the state form.
      const reloaded = TextDoc.loadState(docs[2]!.saveState(), 'receiver-two')
      for (const replica of ['alice-replic', 'bob-replica0', 'carol-replic']) {
        const n = author.seenOf(replica)
        expect(n).toBeGreaterThan(0)
        for (const counter of [1, Math.ceil(n / 2), n]) {
          const expected = digest(author, replica, counter)
          expect(digest(tiny, replica, counter)).toBe(expected)
          expect(digest(reloaded, replica, counter)).toBe(expected)
          expect(digest(docs[1]!, replica, counter)).toBe(expected)
        }
      }
    })
  }

  it('writes a long insert as its first character, then a continuation per code unit', () => {
    // A file's import: one op of 720 000 code units (ASCII, two-byte, three-byte varints, a pair).
    const text = 'lé€😀\n'.repeat(120_000)
    const doc = new TextDoc('importer-one')
    doc.localInsert(0, text)
    const expected = new ByteWriter()
    expected.byte(2) // INSERT, no left and no right origin
    expected.uint(text.charCodeAt(0))
    expected.byte(0)
    expected.byte(0)
    for (let i = 1; i < text.length; i++) {
      expected.byte(1) // CONTINUE
      expected.uint(text.charCodeAt(i))
    }
    const { ids, agent, ops } = doc.opsOf('importer-one', 0)
    const w = new ByteWriter()
    expect(writeOpStream(w, ids, ops, agent, streamStart(), text.length)).toBe(true)
    const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0
    expect(same(w.view(), expected.view())).toBe(true)
    // Resumed from the middle of the op: the same bytes as in one go.
    const cursor = streamStart()
    const parts = new ByteWriter()
    expect(writeOpStream(parts, ids, ops, agent, cursor, 12_345)).toBe(true)
    expect(writeOpStream(parts, ids, ops, agent, cursor, text.length)).toBe(true)
    expect(same(parts.view(), expected.view())).toBe(true)
    // Spilled as it goes (the stream is 1.9 MB): the pieces, then the rest, are the same bytes.
    const pieces: Uint8Array[] = []
    const rest = new ByteWriter()
    const spill = (b: Uint8Array): number => pieces.push(b.slice())
    expect(writeOpStream(rest, ids, ops, agent, streamStart(), text.length, spill)).toBe(true)
    expect(pieces.length).toBeGreaterThan(0)
    expect(same(Buffer.concat([...pieces, rest.view()]), expected.view())).toBe(true)
  })

  it('differs for different ops under the same IDs', () => {
    const a = new TextDoc('mallory-0001')
    const b = new TextDoc('mallory-0001')
    a.localInsert(0, 'AAA')
    b.localInsert(0, 'AAB')
    expect(digest(a, 'mallory-0001', 2)).toBe(digest(b, 'mallory-0001', 2))
    expect(digest(a, 'mallory-0001', 3)).not.toBe(digest(b, 'mallory-0001', 3))
    const c = new TextDoc('mallory-0001')
    c.localInsert(0, 'AAA')
    c.localDelete(0, 1)
    const d = new TextDoc('mallory-0001')
    d.localInsert(0, 'AAA')
    d.localDelete(1, 1)
    expect(digest(c, 'mallory-0001', 4)).not.toBe(digest(d, 'mallory-0001', 4))
  })

  it('stops at a gap, having written the counters before it', () => {
    const a = new TextDoc('gappy-replic')
    a.localInsert(0, 'abc')
    a.localInsert(0, 'def')
    const { ids, agent, ops } = a.opsOf('gappy-replic', 0)
    const cursor = streamStart()
    expect(writeOpStream(new ByteWriter(), ids, [ops[1]!], agent, cursor, 6)).toBe(false)
    expect(cursor.counter).toBe(0)
    expect(writeOpStream(new ByteWriter(), ids, ops, agent, cursor, 6)).toBe(true)
    expect(cursor.counter).toBe(6)
  })
})
