/**
 * `TextDoc.insertedSince`: the visible stretches inserted after a version, which an editor opened after
 * a catch-up highlights as changed while away. Checked against a model: every character's ID held or
 * not by the version, read one by one.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc, type VersionVector } from '../../../src/shared/crdt'

/** The model: each visible character, new or not, as runs of positions. */
function modelSince(doc: TextDoc, v: VersionVector): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = []
  for (let at = 0; at < doc.length; at++) {
    const id = doc.idAt(at)
    if (id.counter <= (v[id.replica] ?? 0)) continue
    const last = out[out.length - 1]
    if (last && last.to === at) last.to = at + 1
    else out.push({ from: at, to: at + 1 })
  }
  return out
}

describe('TextDoc.insertedSince', () => {
  it('is what others typed after the version, and a typed run cut by the version is cut there', () => {
    const ana = new TextDoc('ana')
    const ben = new TextDoc('ben')
    ben.applyRemote(ana.localInsert(0, 'hello world'))
    const seen = ben.version()
    // Ana goes on typing the same run, and inserts in the middle; Ben deletes a word.
    ben.applyRemote(ana.localInsert(11, '!!'))
    ben.applyRemote(ana.localInsert(5, ', dear'))
    ben.localDelete(0, 1)
    expect(ben.toString()).toBe('ello, dear world!!')
    expect(ben.insertedSince(seen)).toEqual([
      { from: 4, to: 10 },
      { from: 16, to: 18 },
    ])
    expect(ben.insertedSince(ben.version())).toEqual([])
    expect(ben.insertedSince({})).toEqual([{ from: 0, to: ben.length }])
  })

  it('agrees with the model on seeded random edits by three replicas', () => {
    let seed = 7
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let round = 0; round < 50; round++) {
      const docs = ['a', 'b', 'c'].map((r) => new TextDoc(`${r}${round}`))
      const deleteSome = (doc: TextDoc): Uint8Array => {
        const at = random(doc.length)
        return doc.localDelete(at, 1 + random(Math.min(3, doc.length - at)))
      }
      const edit = (steps: number): void => {
        for (let i = 0; i < steps; i++) {
          const doc = docs[random(3)]!
          const batch =
            doc.length > 0 && random(3) === 0
              ? deleteSome(doc)
              : doc.localInsert(random(doc.length + 1), 'xyz'.slice(0, 1 + random(3)))
          for (const other of docs) if (other !== doc) other.applyRemote(batch)
        }
      }
      edit(20)
      const seen = docs[0]!.version()
      edit(20)
      const doc = docs[0]!
      expect(doc.insertedSince(seen)).toEqual(modelSince(doc, seen))
    }
  })
})
