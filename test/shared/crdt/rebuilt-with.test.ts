/**
 * TextDoc.rebuiltWith: a document rebuilt with another version of one replica's ops (how peers settle
 * an equivocating device's replica on the version they agree on: src/main/node/forks.ts) is the
 * document that replica would have made had it held that version all along, whatever else it holds.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { decodeTextOps, encodeTextOps } from '../../../src/shared/crdt/text-codec'

/** The ops of `replica` alone in a batch. */
function only(doc: TextDoc, replica: string): Uint8Array {
  const { ids, agent, ops } = doc.opsOf(replica, 0)
  return encodeTextOps(ids, agent < 0 ? [] : ops, undefined, true)
}

/** A base text by "base", two versions of mallory's replica typed into it, and honest edits beside each. */
function world() {
  const base = new TextDoc('base')
  const start = base.localInsert(0, 'one two three')
  const a = new TextDoc('mallory')
  a.applyRemote(start)
  const versionA = a.localInsert(4, 'AAA ')
  const b = new TextDoc('mallory')
  b.applyRemote(start)
  const versionB = b.localInsert(8, 'BBB ')
  // Honest edits typed right after her characters, each against the version it held.
  const alice = new TextDoc('alice')
  alice.applyRemote(start)
  alice.applyRemote(versionA)
  const byAlice = alice.localInsert(7, '<alice>')
  const bob = new TextDoc('bob')
  bob.applyRemote(start)
  bob.applyRemote(versionB)
  const byBob = bob.localInsert(11, '<bob>')
  return { start, versionA, versionB, alice, byAlice, bob, byBob }
}

describe('TextDoc.rebuiltWith', () => {
  it('is the document made with the other version from the start, honest edits placed against it', () => {
    const w = world()
    // Alice holds A and her own edit, then gets bob's (made against B): it lands against her A.
    w.alice.applyRemote(w.byBob)
    const rebuilt = w.alice.rebuiltWith('mallory', w.versionB)
    const fresh = new TextDoc('fresh')
    for (const b of [w.start, w.versionB, w.byAlice, w.byBob]) fresh.applyRemote(b)
    expect(rebuilt.toString()).toBe(fresh.toString())
    expect(rebuilt.toString()).toContain('BBB')
    expect(rebuilt.toString()).not.toContain('AAA')
    expect(rebuilt.toString()).toContain('<alice>')
    expect(rebuilt.toString()).toContain('<bob>')
    expect(rebuilt.version()).toEqual(fresh.version())
    // Bob, who held B all along, has the same text once he has alice's edit.
    w.bob.applyRemote(w.byAlice)
    expect(w.bob.toString()).toBe(rebuilt.toString())
  })

  it('keeps its replica and counters: its next edit follows its last one, and peers take it', () => {
    const w = world()
    const rebuilt = w.alice.rebuiltWith('mallory', w.versionB)
    expect(rebuilt.replica).toBe('alice')
    expect(rebuilt.seenOf('alice')).toBe(w.alice.seenOf('alice'))
    const next = rebuilt.localInsert(0, '!')
    const { ops } = decodeTextOps(next)
    expect(ops[0]!.counter).toBe(w.alice.seenOf('alice') + 1)
    rebuilt.applyRemote(w.byBob)
    w.bob.applyRemote(w.byAlice)
    w.bob.applyRemote(next)
    expect(w.bob.toString()).toBe(rebuilt.toString())
  })

  it('with an empty version: the replica is gone, edits that named its characters wait, parked', () => {
    const w = world()
    const rebuilt = w.alice.rebuiltWith('mallory', only(new TextDoc('x'), 'mallory'))
    expect(rebuilt.toString()).toBe('one two three')
    expect(rebuilt.seenOf('mallory')).toBe(0)
    expect(rebuilt.pendingCount()).toBeGreaterThan(0) // alice's edit named mallory's characters
    // The version arrives: they are placed.
    rebuilt.applyRemote(w.versionA)
    expect(rebuilt.toString()).toBe(w.alice.toString())
    expect(rebuilt.pendingCount()).toBe(0)
  })

  it('ignores ops of other replicas in the version given', () => {
    const w = world()
    const withOthers = w.bob.changesSince({}) // base's, mallory's and bob's ops
    const a = w.alice.rebuiltWith('mallory', withOthers)
    const b = w.alice.rebuiltWith('mallory', only(w.bob, 'mallory'))
    expect(a.toString()).toBe(b.toString())
  })
})
