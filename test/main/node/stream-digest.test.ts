/**
 * The block form of a replica's stream digest (src/main/node/stream-digest.ts, what seals of form 2
 * sign): the same however the ops travelled and wherever it is cut, a commitment to every block's text
 * that a block's hash can stand in for, and seals of the first form still checked beside it.
 */
import SecretStream from '@hyperswarm/secret-stream'
import { describe, expect, it } from 'vitest'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import { Provenance, streamDigest, type TextReader } from '../../../src/main/node/provenance'
import { decodeSeals, deriveReplica, encodeSeals, sealPayload } from '../../../src/main/node/replica-seal'
import {
  blockHash,
  copyDigest,
  digestValue,
  extend,
  freshDigest,
  loadDigest,
  saveDigest,
} from '../../../src/main/node/stream-digest'
import { resumableReady } from '../../../src/main/node/stream-hash'
import { TextDoc } from '../../../src/shared/crdt'
import { ByteWriter } from '../../../src/shared/crdt/bytes'
import { InsertOp, type TextOp } from '../../../src/shared/crdt/ops'
import { BLOCK_COUNTERS, blockOf } from '../../../src/shared/crdt/op-stream'
import { splitTextBatch } from '../../../src/shared/crdt/text-codec'
import { seededRandom } from '../../../src/shared/random'

const hex = (b: Uint8Array | null): string | null => b && Buffer.from(b).toString('hex')

/** Alice imports a file (a run across a block's end), then she and Bob type and delete, synced now and then. */
function history(seed: number): [TextDoc, TextDoc] {
  const random = seededRandom(seed)
  const [alice, bob] = ['alice-replic', 'bob-replica0'].map((r) => new TextDoc(r)) as [TextDoc, TextDoc]
  alice.localInsert(0, 'x'.repeat(BLOCK_COUNTERS - 50) + 'é'.repeat(100))
  bob.applyRemote(alice.changesSince({}))
  for (let step = 0; step < 3000; step++) {
    const d = random() < 0.7 ? alice : bob
    const at = Math.floor(random() * (d.length + 1))
    if (random() < 0.7 || d.length < 3) d.localInsert(at, 'abcdefgh'.slice(0, 1 + Math.floor(random() * 4)))
    else d.localDelete(Math.min(at, d.length - 2), 1 + Math.floor(random() * 2))
    if (random() < 0.1) {
      bob.applyRemote(alice.changesSince(bob.version()))
      alice.applyRemote(bob.changesSince(alice.version()))
    }
  }
  bob.applyRemote(alice.changesSince(bob.version()))
  alice.applyRemote(bob.changesSince(alice.version()))
  return [alice, bob]
}

/** A reader of one replica's ops as given (text blanked, say), with dropped blocks. */
function readerOf(
  doc: TextDoc,
  replica: string,
  ops?: TextOp[],
  dropped?: Map<number, Uint8Array>,
): TextReader {
  const all = doc.opsOf(replica, 0)
  return {
    seenOf: (r) => doc.seenOf(r),
    opsOf: () => ({ ...all, ops: ops ?? all.ops }),
    droppedOf: () => dropped,
  }
}

/** The units of `replica`'s inserts in block `block`, UTF-16 LE, as the stream's block holds them. */
function unitsOf(doc: TextDoc, replica: string, block: number): Uint8Array {
  const { agent, ops } = doc.opsOf(replica, 0)
  const w = new ByteWriter()
  for (const op of ops) {
    if (op.agent !== agent || op.kind !== 0) continue
    for (let i = 0; i < op.length; i++) if (blockOf(op.counter + i) === block) w.utf16(op.text, i, i + 1)
  }
  return w.finish()
}

/** The ops of `replica` with the text of every insert in `block` replaced by '?'. */
function blanked(doc: TextDoc, replica: string, block: number): TextOp[] {
  const { agent, ops } = doc.opsOf(replica, 0)
  return ops.map((op) => {
    if (op.agent !== agent || op.kind !== 0) return op
    const text = [...Array(op.length).keys()]
      .map((i) => (blockOf(op.counter + i) === block ? '?' : op.text[i]))
      .join('')
    const copy = new InsertOp(
      op.agent,
      op.counter,
      text,
      op.originLeftAgent,
      op.originLeftCounter,
      op.originRightAgent,
      op.originRightCounter,
    )
    return copy
  })
}

describe('the block form of a stream digest', () => {
  for (const seed of [1, 2, 3]) {
    it(`is the same however the ops travelled, cut anywhere (seed ${seed})`, () => {
      const [alice, bob] = history(seed)
      const tiny = new TextDoc('receiver-one')
      for (const part of splitTextBatch(alice.changesSince({}), 200)) tiny.applyRemote(part)
      const reloaded = TextDoc.loadState(bob.saveState(), 'receiver-two')
      for (const replica of ['alice-replic', 'bob-replica0']) {
        const n = alice.seenOf(replica)
        const counters = [1, BLOCK_COUNTERS - 1, BLOCK_COUNTERS, BLOCK_COUNTERS + 1, Math.ceil(n / 2), n]
        for (const counter of counters.filter((c) => c <= n)) {
          const expected = hex(streamDigest(alice, replica, counter))
          expect(expected).not.toBeNull()
          expect(hex(streamDigest(tiny, replica, counter))).toBe(expected)
          expect(hex(streamDigest(reloaded, replica, counter))).toBe(expected)
          expect(hex(streamDigest(bob, replica, counter))).toBe(expected)
        }
      }
      expect(alice.seenOf('alice-replic')).toBeGreaterThan(BLOCK_COUNTERS + 1000)
    })
  }

  it('extended piece by piece, saved and loaded mid-block, gives the digest of a fresh count', async () => {
    await resumableReady
    const [alice] = history(4)
    const { ids, agent, ops } = alice.opsOf('alice-replic', 0)
    const n = alice.seenOf('alice-replic')
    let d = freshDigest(2, true)
    for (const until of [7, BLOCK_COUNTERS - 3, BLOCK_COUNTERS, BLOCK_COUNTERS + 40, n]) {
      expect(extend(d, ids, ops, agent, until)).toBe(true)
      expect(hex(digestValue(d))).toBe(hex(streamDigest(alice, 'alice-replic', until)))
      const saved = saveDigest(d)
      expect(saved).not.toBeNull()
      d = loadDigest(saved!, d.cursor)!
      expect(d).not.toBeNull()
    }
    // A state is copied before a trial: extending the copy leaves it as it was.
    const before = hex(digestValue(d))
    const trial = copyDigest(d)
    trial.cursor.counter = 0
    expect(hex(digestValue(d))).toBe(before)
  })

  it("commits to each block's text: a block's hash stands in for its text, nothing else does", () => {
    const [alice] = history(5)
    const replica = 'alice-replic'
    const n = alice.seenOf(replica)
    const real = hex(streamDigest(alice, replica, n))
    const hashOf0 = blockHash(unitsOf(alice, replica, 0))
    // The text of block 0 dropped, its hash kept: the same digest.
    const dropped = readerOf(alice, replica, blanked(alice, replica, 0), new Map([[0, hashOf0]]))
    expect(hex(streamDigest(dropped, replica, n))).toBe(real)
    // Dropped without its hash, or with another block's: not the same.
    expect(hex(streamDigest(readerOf(alice, replica, blanked(alice, replica, 0)), replica, n))).not.toBe(real)
    const wrong = new Map([[0, blockHash(unitsOf(alice, replica, 1))]])
    expect(
      hex(streamDigest(readerOf(alice, replica, blanked(alice, replica, 0), wrong), replica, n)),
    ).not.toBe(real)
    // Text changed in the last, partial block: not the same either.
    expect(
      hex(streamDigest(readerOf(alice, replica, blanked(alice, replica, blockOf(n))), replica, n)),
    ).not.toBe(real)
  })
})

describe('seals of both forms', () => {
  it('a seal of the first form (stored before the block form) is still checked, and one of the block form at its counter replaces it', () => {
    const pair = SecretStream.keyPair()
    const device = new Uint8Array(pair.publicKey)
    const nonce = new Uint8Array(8).fill(3)
    const id = deriveReplica(device, nonce)
    // Its device imported a file and typed on: a stream across a block's end.
    const author = new TextDoc(id)
    author.localInsert(0, 'y'.repeat(BLOCK_COUNTERS + 10))
    for (let i = 0; i < 50; i++) author.localInsert(i * 3, 'ab')
    const doc = new TextDoc('receiver-one')
    doc.applyRemote(author.changesSince({}))
    const counter = doc.seenOf(id)
    const sign = signerFor(pair)
    const sealOf = (form: 1 | 2) => {
      const digest = streamDigest(doc, id, counter, form)!
      return {
        replica: id,
        device,
        nonce,
        counter,
        form,
        digest,
        signature: sign(sealPayload('doc', id, counter, digest, form)),
      }
    }
    const old = sealOf(1)
    // A batch of seals as stored before the block form: version 1, no form byte.
    const w = new ByteWriter()
    w.byte(1)
    w.uint(1)
    for (const part of [device, nonce]) w.bytes(part)
    w.uint(counter)
    w.bytes(old.digest)
    w.bytes(old.signature)
    const [stored] = decodeSeals(w.finish())
    expect(stored!.form).toBe(1)
    const provenance = new Provenance({
      docId: 'doc',
      self: new Uint8Array(SecretStream.keyPair().publicKey),
      sign: signerFor(SecretStream.keyPair()),
      verify: memberCrypto.verify,
      text: () => doc,
      stored: [],
      isMember: () => true,
    })
    expect(provenance.receive([stored!]).news).toHaveLength(1)
    expect(provenance.sealOf(id)!.form).toBe(1)
    const current = decodeSeals(encodeSeals([sealOf(2)]))[0]!
    expect(current.form).toBe(2)
    expect(hex(current.digest)).not.toBe(hex(old.digest))
    const { news } = provenance.receive([current])
    expect(news).toHaveLength(1)
    expect(provenance.sealOf(id)!.form).toBe(2)
    expect(provenance.equivocators()).toEqual([])
    // A seal of one form does not verify as the other: the form is signed.
    expect(provenance.signedByDevice({ ...current, form: 1 })).toBe(false)
  })
})
