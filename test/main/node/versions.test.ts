/**
 * The Versions channel's batches (src/main/node/versions.ts): what a peer can put in one is bounded and
 * checked before anything reads it, and `better` picks the same version of any set on every peer.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { CrdtDecodeError } from '../../../src/shared/crdt/types'
import { streamDigest } from '../../../src/main/node/provenance'
import { makeSeal, EMPTY_DIGEST, type Seal } from '../../../src/main/node/replica-seal'
import {
  better,
  decodeVersions,
  encodeVersions,
  MAX_VERSIONS_PER_BATCH,
  versionDigest,
  type Version,
} from '../../../src/main/node/versions'
import { testDevice } from '../../support/devices'

const dev = testDevice()
const claim = makeSeal('doc', dev.publicKey, new Uint8Array(8), 0, EMPTY_DIGEST, dev.sign)

function sealOver(doc: TextDoc, counter: number): Seal {
  const digest = streamDigest(doc, claim.replica, counter)!
  return { ...claim, counter, digest }
}

describe('versions', () => {
  it('round-trip: seals, ops, and whether the sender holds them', () => {
    const doc = new TextDoc(claim.replica)
    const ops = doc.localInsert(0, 'hello')
    const versions: Version[] = [
      { seal: sealOver(doc, 5), ops, held: true },
      { seal: claim, ops: null, held: false },
    ]
    const back = decodeVersions(encodeVersions(versions))
    expect(back.map((v) => [v.seal.replica, v.seal.counter, v.held, v.ops?.length ?? 0])).toEqual([
      [claim.replica, 5, true, ops.length],
      [claim.replica, 0, false, 0],
    ])
    expect(Buffer.from(back[0]!.seal.digest)).toEqual(Buffer.from(versions[0]!.seal.digest))
  })

  it('the digest of a version’s ops is its replica’s stream digest, other replicas’ ops aside', () => {
    const base = new TextDoc('base')
    const start = base.localInsert(0, 'abc')
    const doc = new TextDoc(claim.replica)
    doc.applyRemote(start)
    doc.localInsert(1, 'XY')
    const all = doc.changesSince({}) // base's ops too
    expect(Buffer.from(versionDigest(all, claim.replica, 2)!)).toEqual(
      Buffer.from(streamDigest(doc, claim.replica, 2)!),
    )
    expect(versionDigest(all, claim.replica, 3)).toBeNull() // the ops do not reach counter 3
  })

  it('malformed batches are refused with CrdtDecodeError', () => {
    const good = encodeVersions([{ seal: claim, ops: null, held: true }])
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(2, 0), // unknown version
      Uint8Array.of(...good, 0), // trailing byte
      Uint8Array.of(good[0]!, good[1]!, 2, ...good.subarray(3)), // held is 0 or 1
      encodeVersions(
        Array.from({ length: MAX_VERSIONS_PER_BATCH + 1 }, () => ({ seal: claim, ops: null, held: false })),
      ),
    ]
    for (const bytes of cases) expect(() => decodeVersions(bytes)).toThrow(CrdtDecodeError)
  })

  it('better: more counters first, then the smaller digest; a strict order', () => {
    const a = new TextDoc(claim.replica)
    a.localInsert(0, 'aaa')
    const b = new TextDoc(claim.replica)
    b.localInsert(0, 'bbb')
    const [x, y] = [sealOver(a, 3), sealOver(b, 3)]
    expect(better(x, y)).toBe(!better(y, x))
    expect(better(x, x)).toBe(false)
    expect(better(sealOver(a, 3), sealOver(a, 2))).toBe(true)
    expect(better(claim, sealOver(a, 1))).toBe(false)
  })
})
