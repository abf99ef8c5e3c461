/**
 * Dropped text under random histories and random delivery (src/shared/crdt/dropped-text.ts): two
 * replicas edit and drop what each may, a third far behind catches up from both, its batches cut small
 * and shuffled. It must end with the same text, the same version, and the same digest of every
 * replica's stream (what seals sign), and it must never show a placeholder for text that is visible
 * elsewhere.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { streamDigest } from '../../../src/main/node/provenance'
import { TextDoc } from '../../../src/shared/crdt'
import { BLOCK_COUNTERS, DROPPED_UNIT } from '../../../src/shared/crdt/op-stream'
import { splitTextBatch } from '../../../src/shared/crdt/text-codec'
import { seededRandom, type Random } from '../../../src/shared/random'

const SEEDS = Number(process.env['MESHPAD_DROP_SEEDS'] ?? 40)
const sha256 = (units: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(units).digest())
const hex = (b: Uint8Array | null): string | null => b && Buffer.from(b).toString('hex')

function edit(doc: TextDoc, random: Random): void {
  const int = (n: number): number => Math.floor(random() * n)
  const len = doc.length
  if (len > 200 && random() < 0.45) {
    const n = 1 + int(Math.min(len, random() < 0.2 ? 3000 : 40))
    doc.localDelete(int(len - n + 1), n)
  } else {
    const n = random() < 0.05 ? 500 + int(2500) : 1 + int(12)
    const text = Array.from({ length: n }, () => String.fromCharCode(97 + int(26))).join('')
    doc.localInsert(int(len + 1), text)
  }
}

/** Saves and loads `doc` as a store does, then drops a random part of what it may. */
function dropSome(doc: TextDoc, random: Random): TextDoc {
  const { state, history } = doc.saveStateApart()
  const loaded = TextDoc.loadState(state, doc.replica, { history })
  const { candidates } = loaded.droppable()
  loaded.dropText(
    candidates.filter(() => random() < 0.8),
    sha256,
  )
  return loaded
}

/** Everything `from` has that `to` lacks, cut into small batches delivered in a random order. */
function deliverShuffled(from: TextDoc, to: TextDoc, random: Random): void {
  const parts = splitTextBatch(from.changesSince(to.version()), 2_000 + Math.floor(random() * 6_000))
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[parts[i], parts[j]] = [parts[j]!, parts[i]!]
  }
  for (const part of parts) to.applyRemote(part)
}

/** No character `behind` shows as a placeholder is visible in `ahead`. */
function noBlankedText(behind: TextDoc, ahead: TextDoc): void {
  const shown = behind.toString()
  for (let i = shown.indexOf(DROPPED_UNIT); i >= 0; i = shown.indexOf(DROPPED_UNIT, i + 1)) {
    const id = behind.idAt(i)
    const there = ahead.indexOfId(id)
    const visible = there !== undefined && there < ahead.length && ahead.idAt(there).counter === id.counter
    expect(visible && ahead.idAt(there).replica === id.replica).toBe(false)
  }
}

describe('dropped text, random histories and random delivery', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`converges with the same digests (seed ${seed})`, () => {
      const random = seededRandom(seed * 7919)
      let ana = new TextDoc('ana-replica1')
      let ben = new TextDoc('ben-replica1')
      const cara = new TextDoc('cara-replica')
      for (let step = 0; step < 900; step++) {
        edit(random() < 0.6 ? ana : ben, random)
        if (random() < 0.05) {
          ben.applyRemote(ana.changesSince(ben.version()))
          ana.applyRemote(ben.changesSince(ana.version()))
        }
        if (step === 600) {
          ana = dropSome(ana, random)
          ben = dropSome(ben, random)
        }
      }
      ben.applyRemote(ana.changesSince(ben.version()))
      ana.applyRemote(ben.changesSince(ana.version()))
      ana = dropSome(ana, random)
      // Cara catches up from both, each in small batches in a random order.
      deliverShuffled(ana, cara, random)
      noBlankedText(cara, ana)
      deliverShuffled(ben, cara, random)
      expect(cara.version()).toEqual(ana.version())
      expect(cara.toString()).toBe(ana.toString())
      expect(ben.toString()).toBe(ana.toString())
      // At block ends and at the last counter (inside a dropped block no one can tell the digest).
      for (const replica of ['ana-replica1', 'ben-replica1']) {
        const n = ana.seenOf(replica)
        const mid = Math.floor(n / 2 / BLOCK_COUNTERS) * BLOCK_COUNTERS
        for (const counter of [BLOCK_COUNTERS, mid, n].filter((c) => c > 0 && c <= n)) {
          const digest = hex(streamDigest(ana, replica, counter))
          expect(digest).not.toBeNull()
          expect(hex(streamDigest(cara, replica, counter))).toBe(digest)
          expect(hex(streamDigest(ben, replica, counter))).toBe(digest)
        }
      }
    })
  }
})
