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
  attestPayload,
  better,
  decodeVersions,
  encodeVersions,
  MAX_VERSIONS_PER_BATCH,
  spliceStream,
  versionDigest,
  type Version,
} from '../../../src/main/node/versions'
import { memberCrypto } from '../../../src/main/node/crypto'
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

  it('round-trip: an attested version keeps its attester, and its signature checks against attestPayload', () => {
    const attester = testDevice()
    const doc = new TextDoc(claim.replica)
    const ops = doc.localInsert(0, 'withheld')
    const digest = streamDigest(doc, claim.replica, 8)!
    const signature = attester.sign(attestPayload('doc', claim.replica, 8, digest, attester.publicKey))
    const v: Version = {
      seal: { ...claim, counter: 8, digest, signature },
      ops,
      held: true,
      attester: attester.publicKey,
    }
    const [back] = decodeVersions(encodeVersions([v]))
    expect(Buffer.from(back!.attester!)).toEqual(Buffer.from(attester.publicKey))
    expect(back!.held).toBe(true)
    expect(Buffer.from(back!.ops!)).toEqual(Buffer.from(ops))
    const payload = attestPayload('doc', claim.replica, 8, back!.seal.digest, back!.attester!)
    expect(memberCrypto.verify(attester.publicKey, payload, back!.seal.signature)).toBe(true)
    // Bound to its document and attester: another of either does not check.
    expect(
      memberCrypto.verify(
        attester.publicKey,
        attestPayload('other', claim.replica, 8, digest, attester.publicKey),
        signature,
      ),
    ).toBe(false)
    expect(
      memberCrypto.verify(
        attester.publicKey,
        attestPayload('doc', claim.replica, 8, digest, dev.publicKey),
        signature,
      ),
    ).toBe(false)
  })

  it('spliceStream: the head’s ops up to the counter, then the tail’s past it, in one table', () => {
    const base = new TextDoc('base')
    const start = base.localInsert(0, 'abc')
    // Two streams of the replica that agree on nothing: "HEAD" and "tail!", typed after "a".
    const head = new TextDoc(claim.replica)
    head.applyRemote(start)
    head.localInsert(1, 'HEAD')
    const tail = new TextDoc(claim.replica)
    tail.applyRemote(start)
    tail.localInsert(1, 'tail!')
    tail.localDelete(0, 1) // counter 6 deletes "a" (base's)
    const joined = spliceStream(head.changesSince({}), tail.changesSince({}), claim.replica, 2)
    const doc = new TextDoc('reader')
    doc.applyRemote(start)
    doc.applyRemote(joined)
    // Counters 1–2 are the head's ("HE"), 3–5 the tail's ("il!"), 6 the tail's delete of "a".
    expect(doc.seenOf(claim.replica)).toBe(6)
    expect(doc.toString()).toBe('HEil!bc')
    expect(versionDigest(joined, claim.replica, 2)).toEqual(
      versionDigest(head.changesSince({}), claim.replica, 2),
    )
    // At the head's last counter: all of the head, then the tail's "!" (5) and its delete (6).
    const whole = new TextDoc('reader')
    whole.applyRemote(start)
    whole.applyRemote(spliceStream(head.changesSince({}), tail.changesSince({}), claim.replica, 4))
    expect(whole.seenOf(claim.replica)).toBe(6)
    expect(whole.toString()).toBe('HEAD!bc')
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
      Uint8Array.of(3, 0), // unknown version
      Uint8Array.of(...good, 0), // trailing byte
      Uint8Array.of(good[0]!, good[1]!, 4, ...good.subarray(3)), // flags: held 1, attested 2
      // attested, without its ops
      Uint8Array.of(good[0]!, good[1]!, 3, ...dev.publicKey, ...good.subarray(3)),
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
