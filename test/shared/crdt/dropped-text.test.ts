/**
 * Dropping the text of long-deleted characters (src/shared/crdt/dropped-text.ts, TextDoc.dropText): the
 * IDs and every op stay, so a peer far behind converges; each block's hash stays, so the seal digest
 * of its replica's stream is the same; and a block named dropped is taken only with deletes of all of it.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { streamDigest } from '../../../src/main/node/provenance'
import { TextDoc } from '../../../src/shared/crdt'
import { BLOCK_COUNTERS, DROPPED_UNIT } from '../../../src/shared/crdt/op-stream'
import { decodeTextOps, encodeTextOps, splitTextBatch } from '../../../src/shared/crdt/text-codec'
import { seededRandom } from '../../../src/shared/random'

const sha256 = (units: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(units).digest())
const hex = (b: Uint8Array | null): string | null => b && Buffer.from(b).toString('hex')

/**
 * Ana writes three blocks' worth of text and deletes most of the first two of them (a paste she cut,
 * then a draft she rewrote), typing here and there, with Ben editing beside her; the document is then
 * saved and loaded, as a store keeps it.
 */
function aged(seed = 1): { ana: TextDoc; ben: TextDoc } {
  const random = seededRandom(seed)
  const ana = new TextDoc('ana-replica1')
  const ben = new TextDoc('ben-replica1')
  // Random letters: text that compresses about as well as prose does to brotli, not to nothing.
  const letters = (n: number): string =>
    Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('')
  const words = (n: number): string =>
    Array.from({ length: n }, () => letters(1 + Math.floor(random() * 8)) + ' ').join('')
  ana.localInsert(0, letters(BLOCK_COUNTERS))
  ana.localDelete(0, BLOCK_COUNTERS)
  for (let i = 0; i < 400; i++) {
    const d = random() < 0.8 ? ana : ben
    const at = Math.floor(random() * (d.length + 1))
    if (random() < 0.6 || d.length < 20) d.localInsert(at, words(1 + Math.floor(random() * 3)))
    else d.localDelete(Math.min(at, d.length - 10), 1 + Math.floor(random() * 10))
    if (random() < 0.2) {
      ben.applyRemote(ana.changesSince(ben.version()))
      ana.applyRemote(ben.changesSince(ana.version()))
    }
  }
  ana.localDelete(0, Math.floor(ana.length / 2))
  ben.applyRemote(ana.changesSince(ben.version()))
  ana.applyRemote(ben.changesSince(ana.version()))
  const { state, history } = ana.saveStateApart()
  return { ana: TextDoc.loadState(state, 'ana-replica1', { history }), ben }
}

/** Ana's document with every block it can drop dropped; returns how many. */
function dropAll(ana: TextDoc): number {
  const { candidates } = ana.droppable()
  ana.dropText(candidates, sha256)
  return candidates.length
}

describe('dropping the text of deleted blocks', () => {
  it('keeps the text, the IDs and every replica digest the same, and frees the deleted text', () => {
    const { ana } = aged()
    const text = ana.toString()
    const replicas = ['ana-replica1', 'ben-replica1']
    const digests = replicas.map((r) => hex(streamDigest(ana, r, ana.seenOf(r))))
    const before = ana.saveState().length
    const { deletedChars } = ana.droppable()
    expect(dropAll(ana)).toBeGreaterThanOrEqual(1)
    expect(ana.toString()).toBe(text)
    expect(replicas.map((r) => hex(streamDigest(ana, r, ana.seenOf(r))))).toEqual(digests)
    expect(ana.droppedOf('ana-replica1')!.has(0)).toBe(true)
    // The history holds every op, with placeholders where the text went: the paste of block 0 first.
    const [paste] = ana.history()
    expect(paste).toMatchObject({
      kind: 'insert',
      replica: 'ana-replica1',
      text: DROPPED_UNIT.repeat(BLOCK_COUNTERS),
    })
    expect(ana.textAfter(1)).toBe(DROPPED_UNIT.repeat(BLOCK_COUNTERS))
    // Saved and loaded: the same text, the same digests, the blocks still dropped; fewer bytes.
    const after = ana.saveState()
    expect(after.length).toBeLessThan(before - deletedChars / 4)
    const again = TextDoc.loadState(after, 'ana-replica1')
    expect(again.toString()).toBe(text)
    expect(again.droppedOf('ana-replica1')!.has(0)).toBe(true)
    expect(replicas.map((r) => hex(streamDigest(again, r, again.seenOf(r))))).toEqual(digests)
    // Nothing more to drop.
    expect(again.droppable().candidates).toEqual([])
  })

  it('a peer far behind converges from a catch-up cut into small frames, and can pass the blocks on', () => {
    const { ana } = aged(2)
    dropAll(ana)
    const cara = new TextDoc('cara-replica')
    for (const part of splitTextBatch(ana.changesSince({}), 4096)) cara.applyRemote(part)
    expect(cara.version()).toEqual(ana.version())
    expect(cara.toString()).toBe(ana.toString())
    expect(cara.toString()).not.toContain(DROPPED_UNIT)
    for (const r of ['ana-replica1', 'ben-replica1'])
      expect(hex(streamDigest(cara, r, cara.seenOf(r)))).toBe(hex(streamDigest(ana, r, ana.seenOf(r))))
    // Cara passes them on as she got them.
    const dan = new TextDoc('dan-replica1')
    dan.applyRemote(cara.changesSince({}))
    expect(dan.toString()).toBe(ana.toString())
    expect([...dan.droppedOf('ana-replica1')!.keys()]).toEqual([...ana.droppedOf('ana-replica1')!.keys()])
  })

  it('does not keep parked inserts named dropped in a saved state (the name would not go with them)', () => {
    // Ana types a character, pastes two blocks' worth before it (an op of its own, counters 2 on) and
    // cuts the paste's second half: block 1 goes.
    const random = seededRandom(4)
    let ana = new TextDoc('ana-replica1')
    ana.localInsert(0, 'x')
    const paste = Array.from({ length: 2 * BLOCK_COUNTERS - 1 }, () => 'abc'[Math.floor(random() * 3)])
    ana.localInsert(0, paste.join(''))
    ana.localDelete(BLOCK_COUNTERS - 1, BLOCK_COUNTERS)
    ana = TextDoc.loadState(ana.saveState(), 'ana-replica1')
    expect(dropAll(ana)).toBe(1)
    const all = decodeTextOps(ana.changesSince({}))
    // Her first op is lost on the way: everything of hers after it parks, the paste named dropped too.
    const rest = all.ops.slice(1)
    const cara = new TextDoc('cara-replica')
    cara.applyRemote(encodeTextOps(all.replicas, rest, undefined, true, undefined, all.dropped))
    const parked = cara.pendingCount()
    const again = TextDoc.loadState(cara.saveState(), 'cara-replica')
    expect(again.pendingCount()).toBeLessThan(parked)
    // The catch-up brings them again, named.
    again.applyRemote(ana.changesSince(again.version()))
    expect(again.toString()).toBe(ana.toString())
    expect(again.toString()).not.toContain(DROPPED_UNIT)
    expect(hex(streamDigest(again, 'ana-replica1', again.seenOf('ana-replica1')))).toBe(
      hex(streamDigest(ana, 'ana-replica1', ana.seenOf('ana-replica1'))),
    )
  })

  it('takes a block named dropped only with deletes of every character of it', () => {
    const { ana } = aged(3)
    const cara = new TextDoc('cara-replica')
    const all = decodeTextOps(ana.changesSince({}))
    // A relay sends all of it, but names Ana's third block dropped, though some of its text is
    // visible (with any hash: the seal would check it; this is the check that does not need one).
    const { candidates } = ana.droppable()
    const visible = 2
    expect(candidates.some((c) => c.replica === 'ana-replica1' && c.block === visible)).toBe(false)
    const named = new Map([['ana-replica1', new Map([[visible, new Uint8Array(32)]])]])
    cara.applyRemote(encodeTextOps(all.replicas, all.ops, undefined, true, undefined, named))
    // Its inserts with visible characters were not taken (nor anything of Ana's after them); those
    // whose characters are all deleted were, as placeholders, which may show until the deletes that
    // also name the rest can apply. No character Ana shows is a placeholder here.
    expect(cara.seenOf('ana-replica1')).toBeLessThan(ana.seenOf('ana-replica1'))
    expect(cara.seenOf('ana-replica1')).toBeGreaterThanOrEqual(visible * BLOCK_COUNTERS)
    const shown = cara.toString()
    for (let i = 0; i < shown.length; i++) {
      if (shown[i] !== DROPPED_UNIT) continue
      const id = cara.idAt(i)
      const there = ana.indexOfId(id)
      expect(
        there !== undefined &&
          ana.idAt(there).counter === id.counter &&
          ana.idAt(there).replica === id.replica,
      ).toBe(false)
    }
    // The honest catch-up afterwards brings everything.
    cara.applyRemote(ana.changesSince(cara.version()))
    expect(cara.toString()).toBe(ana.toString())
  })
})
