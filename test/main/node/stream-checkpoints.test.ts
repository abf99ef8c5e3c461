/**
 * Stream checkpoints (src/main/node/provenance.ts, Checkpoint): a replica's stream hash kept with the
 * document at its latest seal, so that the next session's first seal hashes only the ops since, and
 * never reads the stored history (a replay of it: ~0.5 s for a document with 200,000 logged ops). A
 * checkpoint that does not hash to its replica's seal is ignored, and the stream is hashed from its
 * start, as without one.
 */
import SecretStream from '@hyperswarm/secret-stream'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import {
  decodeCheckpoint,
  encodeCheckpoint,
  Provenance,
  streamDigest,
  type Checkpoint,
} from '../../../src/main/node/provenance'
import type { Seal } from '../../../src/main/node/replica-seal'
import { resumableReady } from '../../../src/main/node/stream-hash'
import { TextDoc } from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'

beforeAll(async () => {
  expect(await resumableReady).toBe(true)
})

const pair = SecretStream.keyPair()
const self = new Uint8Array(pair.publicKey)

function provenance(
  text: () => TextDoc,
  options: { stored?: Seal[]; checkpoints?: Checkpoint[]; resumable?: boolean } = {},
): Provenance {
  return new Provenance({
    docId: 'doc',
    self,
    sign: signerFor(pair),
    verify: memberCrypto.verify,
    text,
    stored: options.stored ?? [],
    isMember: () => true,
    resumable: options.resumable ?? true,
    ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
  })
}

/** `n` edits at random places (every fourth a delete), each a logged op of its own. */
function edit(doc: TextDoc, n: number, seed: number): void {
  const random = seededRandom(seed)
  for (let i = 0; i < n; i++) {
    if (i % 4 === 3 && doc.length > 0) doc.localDelete(Math.floor(random() * doc.length), 1)
    else doc.localInsert(Math.floor(random() * (doc.length + 1)), String.fromCharCode(97 + (i % 26)))
  }
}

/** The document saved as a store keeps it and loaded again: its history still encoded. */
function reloaded(doc: TextDoc): TextDoc {
  const saved = doc.saveStateApart()
  return TextDoc.loadState(saved.state, doc.replica, { history: saved.history })
}

/** Counts reads of the whole stored history (the replay that checkpoints save). */
const fullLogReads = (doc: TextDoc) => vi.spyOn(doc as unknown as { fullLog: () => unknown }, 'fullLog')

/** A session of this device: its replica's 2,000 edits, sealed; the seal and its checkpoints. */
function firstSession(): { doc: TextDoc; seal: Seal; checkpoints: Checkpoint[] } {
  let doc = new TextDoc('placeholder')
  const p = provenance(() => doc)
  const replica = p.mint()
  doc = new TextDoc(replica)
  edit(doc, 2_000, 1)
  const seal = p.sealOwn(replica)!
  return { doc, seal, checkpoints: p.checkpoints() }
}

describe('stream checkpoints', () => {
  it('let the next session seal its replica from the last seal on, without reading the history', () => {
    const { doc, seal, checkpoints } = firstSession()
    expect(seal.digest).toEqual(streamDigest(doc, doc.replica, seal.counter))
    expect(checkpoints).toHaveLength(1)
    const [kept] = checkpoints.map((c) => decodeCheckpoint(encodeCheckpoint(c))!)
    expect(kept).toMatchObject({ replica: doc.replica, counter: seal.counter, sealed: null })

    const next = reloaded(doc)
    const reads = fullLogReads(next)
    const p = provenance(() => next, { stored: [seal], checkpoints: [kept!] })
    edit(next, 50, 2)
    const opsOf = vi.spyOn(next, 'opsOf')
    const again = p.sealOwn(next.replica)!
    expect(again.counter).toBe(next.seenOf(next.replica))
    expect(opsOf.mock.calls).toEqual([[next.replica, seal.counter]])
    expect(reads).not.toHaveBeenCalled()
    // The same digest as the whole stream hashed from its first op (which reads the history).
    expect(again.digest).toEqual(streamDigest(next, next.replica, again.counter))
    expect(reads).toHaveBeenCalled()
  })

  it('that do not hash to their seal are ignored: the stream is hashed from its start', () => {
    const { doc, seal, checkpoints } = firstSession()
    const [good] = checkpoints
    // After hash-wasm's 4-byte build tag: the chaining words. The tag itself names another build.
    const flipped = (at: number): Checkpoint => {
      const state = good!.state.slice()
      state[at]! ^= 1
      return { ...good!, state }
    }
    const other = firstSession() // another stream of the same length, under a replica of its own
    const cases: [string, Checkpoint][] = [
      ['damaged', flipped(5)],
      ['of another build of hash-wasm', flipped(0)],
      ['of another counter', { ...good!, counter: good!.counter - 1 }],
      ['of another stream', { ...other.checkpoints[0]!, replica: doc.replica }],
    ]
    for (const [what, checkpoint] of cases) {
      const next = reloaded(doc)
      const p = provenance(() => next, { stored: [seal], checkpoints: [checkpoint] })
      edit(next, 10, 3)
      const opsOf = vi.spyOn(next, 'opsOf')
      const again = p.sealOwn(next.replica)!
      expect(opsOf.mock.calls.at(-1), what).toEqual([next.replica, 0])
      expect(again.digest, what).toEqual(streamDigest(next, next.replica, again.counter))
    }
  })

  it('a few sessions old are checked against the latest seal, and used', () => {
    // The last compaction kept a checkpoint at the first seal; a later session sealed more without one.
    const { doc, seal, checkpoints } = firstSession()
    const second = reloaded(doc)
    const before = second.version()
    edit(second, 300, 6)
    const sealed = provenance(() => second, { stored: [seal] }).sealOwn(second.replica)!
    const since = second.changesSince(before) // its log records, replayed at the next open

    const third = reloaded(doc)
    third.applyRemote(since)
    const reads = fullLogReads(third)
    const p = provenance(() => third, { stored: [sealed], checkpoints })
    edit(third, 20, 7)
    const opsOf = vi.spyOn(third, 'opsOf')
    const again = p.sealOwn(third.replica)!
    // Hashed from the checkpoint: through the later seal (checked), then on.
    expect(opsOf.mock.calls).toEqual([
      [third.replica, seal.counter],
      [third.replica, sealed.counter],
    ])
    expect(reads).not.toHaveBeenCalled()
    expect(again.digest).toEqual(streamDigest(third, third.replica, again.counter))
  })

  it('taken past the latest seal, over the ops since, are used if that seal is the one they name', () => {
    // Ops after the replica's last seal (its device typed on as this node closed) go into the history.
    const { doc, seal } = firstSession()
    const p = provenance(() => doc, { stored: [seal] })
    p.digestOf(doc.replica, seal.counter)
    edit(doc, 40, 8)
    const [past] = p.checkpoints().map((c) => decodeCheckpoint(encodeCheckpoint(c))!)
    expect(past).toMatchObject({ counter: doc.seenOf(doc.replica), sealed: { counter: seal.counter } })

    const next = reloaded(doc)
    const reads = fullLogReads(next)
    const q = provenance(() => next, { stored: [seal], checkpoints: [past!] })
    edit(next, 10, 9)
    const opsOf = vi.spyOn(next, 'opsOf')
    const again = q.sealOwn(next.replica)!
    expect(opsOf.mock.calls).toEqual([[next.replica, past!.counter]])
    expect(reads).not.toHaveBeenCalled()
    expect(again.digest).toEqual(streamDigest(next, next.replica, again.counter))

    // Naming another seal than the latest here (another stream, or a seal since): not used.
    const other = { ...past!, sealed: { counter: seal.counter, digest: new Uint8Array(32) } }
    const last = reloaded(doc)
    const r = provenance(() => last, { stored: [seal], checkpoints: [other] })
    const opsOfLast = vi.spyOn(last, 'opsOf')
    expect(r.sealOwn(last.replica)!.digest).toEqual(
      streamDigest(last, last.replica, last.seenOf(last.replica)),
    )
    expect(opsOfLast.mock.calls[0]).toEqual([last.replica, 0])
  })

  it('are kept only of resumable streams, up to their latest seal', () => {
    let doc = new TextDoc('placeholder')
    const native = provenance(() => doc, { resumable: false })
    const replica = native.mint()
    doc = new TextDoc(replica)
    edit(doc, 100, 4)
    native.sealOwn(replica)
    expect(native.checkpoints()).toEqual([])

    const { doc: sealed, seal } = firstSession()
    const p = provenance(() => sealed, { stored: [seal] })
    p.digestOf(sealed.replica, seal.counter - 10)
    expect(p.checkpoints().map((c) => c.counter)).toEqual([seal.counter - 10])
    // A digest past the seal (as a version check asks for) moves the state past it: none is kept.
    edit(sealed, 5, 5)
    p.digestOf(sealed.replica, sealed.seenOf(sealed.replica))
    expect(p.checkpoints()).toEqual([])
    const resealed = p.sealOwn(sealed.replica)!
    expect(p.checkpoints().map((c) => c.counter)).toEqual([resealed.counter])
  })
})
