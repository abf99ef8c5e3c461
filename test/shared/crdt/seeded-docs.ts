/**
 * Seeded documents with a deleted history, built through TextDoc's public API only and on an injected
 * clock, so that any version of TextDoc builds the same document from the same seed. That is how the
 * kind-6 state fixtures (test/fixtures/text-state-v6, written by the code that wrote kind 6) are checked
 * against the document this code builds (state-load-lazy.test.ts).
 */
import { InsertOp } from '../../../src/shared/crdt/ops'
import { encodeTextOps } from '../../../src/shared/crdt/text-codec'
import { Prng, randomDeleteRange, randomInsertIndex, randomText } from './harness'

/** What the generator uses of a TextDoc; satisfied by this tree's and by older ones. */
export interface EditableDoc {
  localInsert(index: number, text: string): Uint8Array
  localDelete(index: number, length: number): Uint8Array
  applyRemote(batch: Uint8Array): unknown
  changesSince(version: Record<string, number>): Uint8Array
  version(): Record<string, number>
  toString(): string
}

export type DocMaker<D extends EditableDoc> = (replica: string, clock: () => number) => D

/** The time the documents' clock reads once `seededDoc` has made `edits` edits (ms). */
export const seededTime = (edits: number): number => 1_700_000_000_000 + edits * 1000

/**
 * Three replicas editing with random partial syncs, `edits` edits in all (a third of them deletes,
 * some of long ranges), a second apart; returns the first replica after it has taken in everything.
 * Its clock then stays at `seededTime(edits)`.
 */
export function seededDoc<D extends EditableDoc>(make: DocMaker<D>, seed: number, edits: number): D {
  return seededDocs(make, seed, edits)[0]!
}

/**
 * `seededDoc` and the two other replicas, as they are at the end: each lacks some of the others' ops,
 * so its edits are concurrent with much of the first replica's document.
 */
export function seededDocs<D extends EditableDoc>(make: DocMaker<D>, seed: number, edits: number): D[] {
  const rng = new Prng(seed)
  let now = seededTime(0)
  const clock = (): number => now
  const docs = ['alice', 'bob', 'carol'].map((name) => make(`${name}${seed}`, clock))
  for (let i = 0; i < edits; i++) {
    now += 1000
    const doc = rng.pick(docs)
    const text = doc.toString()
    if (text.length > 0 && rng.chance(0.35)) {
      const { index, length } = randomDeleteRange(rng, text, rng.chance(0.1) ? 200 : 12)
      doc.localDelete(index, length)
    } else doc.localInsert(randomInsertIndex(rng, text), randomText(rng, rng.chance(0.1) ? 60 : 8))
    if (rng.chance(0.05)) {
      const [from, to] = [rng.pick(docs), rng.pick(docs)]
      if (from !== to) to.applyRemote(from.changesSince(to.version()))
    }
  }
  const [first, ...rest] = docs
  for (const other of rest) first!.applyRemote(other.changesSince(first!.version()))
  return docs
}

/**
 * `seededDoc` with what the plain one lacks: a lone surrogate in its text (only a faulty peer makes one:
 * an insert landing inside a surrogate pair), so that its state keeps the text as UTF-16, and an op
 * parked for a dependency that never arrived, so that its state has a pending section.
 */
export function seededOddDoc<D extends EditableDoc>(make: DocMaker<D>, seed: number, edits: number): D {
  const doc = seededDoc(make, seed, edits)
  const clock = (): number => seededTime(edits)
  const author = make(`erin${seed}`, clock)
  doc.applyRemote(author.localInsert(0, 'a\u{1F600}b'))
  // Left origin the pair's high half, right origin its low half.
  doc.applyRemote(encodeTextOps([`faulty${seed}`, `erin${seed}`], [new InsertOp(0, 1, 'Z', 1, 2, 1, 3)]))
  const stranger = make(`dave${seed}`, clock)
  stranger.localInsert(0, 'never sent')
  doc.applyRemote(stranger.localInsert(3, 'parked'))
  return doc
}
