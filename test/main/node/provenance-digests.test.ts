/**
 * Provenance keeps each replica's stream hash where the last seal checked or made ended, so the next
 * one hashes only the ops since (src/main/node/provenance.ts, stateAt): the digests are those of the
 * whole stream all the same, whatever order the counters are asked in.
 */
import SecretStream from '@hyperswarm/secret-stream'
import { describe, expect, it, vi } from 'vitest'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import { Provenance } from '../../../src/main/node/provenance'
import { TextDoc } from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'

function provenanceOver(text: TextDoc): Provenance {
  const pair = SecretStream.keyPair()
  return new Provenance({
    docId: 'doc',
    self: new Uint8Array(pair.publicKey),
    sign: signerFor(pair),
    verify: memberCrypto.verify,
    text: () => text,
    stored: [],
    isMember: () => true,
  })
}

describe('Provenance stream digests', () => {
  it('hash only the ops since the last digest, and equal those of a fresh count', () => {
    // Ana types 60 characters at random places, among Ben's; this node holds them all.
    const random = seededRandom(7)
    const ana = new TextDoc('ana-replica1')
    const ben = new TextDoc('ben-replica1')
    const here = new TextDoc('here-replica')
    for (let i = 0; i < 60; i++) {
      for (const [from, to] of [
        [ana, ben],
        [ben, ana],
      ] as const) {
        const batch = from.localInsert(
          Math.floor(random() * (from.length + 1)),
          String.fromCharCode(97 + (i % 26)),
        )
        to.applyRemote(batch)
        here.applyRemote(batch)
      }
    }
    const kept = provenanceOver(here)
    const opsOf = vi.spyOn(here, 'opsOf')
    const afters = (): number[] =>
      opsOf.mock.calls.filter(([r]) => r === 'ana-replica1').map(([, after]) => after)
    // Seals at 20, 40 and 60, each checked while more of Ana's ops are held here than it covers.
    const digests = [20, 40, 60].map((c) => kept.digestOf('ana-replica1', c))
    expect(afters()).toEqual([0, 20, 40])
    // An older seal is hashed from the start, once; the next goes on from it.
    const older = kept.digestOf('ana-replica1', 30)
    const after = kept.digestOf('ana-replica1', 50)
    expect(afters()).toEqual([0, 20, 40, 0, 30])
    const fresh = (c: number): Uint8Array | null => provenanceOver(here).digestOf('ana-replica1', c)
    expect(digests).toEqual([fresh(20), fresh(40), fresh(60)])
    expect([older, after]).toEqual([fresh(30), fresh(50)])
    expect(new Set(digests.map((d) => Buffer.from(d!).toString('hex'))).size).toBe(3)
  })
})
