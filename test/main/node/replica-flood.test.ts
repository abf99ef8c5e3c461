/**
 * Issue 12, attack 5: an editor mints replicas (one delete each) to bloat every version vector. Before,
 * 101,000 replicas made version vectors too big to decode and work linear in the replicas per batch
 * made the owner's next edit take 4-43 s. Now every replica is bound to a device (provenance.ts):
 *
 * - ops of made-up replica IDs (no claim) are held for a seal that never comes, within the held bounds,
 *   and never applied;
 * - a device binds at most MAX_REPLICAS_PER_DEVICE replicas of a document: past it, its claims are
 *   refused and the ops of those replicas held, never applied;
 * - per-batch work is O(batch) (`opCount`), and honest peers keep syncing throughout.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, expect, it, vi } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { Replicas } from '../../../src/shared/crdt/replicas'
import { Channel } from '../../../src/shared/sync/messages'
import type { DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { MAX_HELD_ENTRIES } from '../../../src/main/node/provenance'
import {
  EMPTY_DIGEST,
  encodeSeals,
  makeSeal,
  MAX_SEALS_PER_BATCH,
  type Seal,
} from '../../../src/main/node/replica-seal'
import { cleanup, connect, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

/** The per-device cap these nodes apply: the product's is MAX_REPLICAS_PER_DEVICE, the same code. */
const CAP = 2_500

async function nodesNamed<N extends string[]>(...names: N): Promise<{ [K in keyof N]: TestNode }> {
  nodes = await Promise.all(names.map((n) => makeNode(n, undefined, { replicasPerDevice: CAP })))
  return nodes as { [K in keyof N]: TestNode }
}

async function join(owner: TestNode, other: TestNode, doc: DocSession): Promise<DocSession> {
  connect(owner, other)
  await until('hello', () => other.ws.session(owner.self)?.ready === true)
  const code = await owner.ws.createInvite(doc.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  other.ws.redeemWith(other.ws.session(owner.self)!, decodeInvite(code))
  await until(`${other.name} joined`, () => other.ws.doc(doc.docId)?.text === doc.text, 10_000)
  return other.ws.doc(doc.docId)!
}

/** `count` claims of fresh replicas of `node`'s device, as it would mint them. */
function claims(node: TestNode, docId: string, count: number): Seal[] {
  return Array.from({ length: count }, () =>
    makeSeal(docId, node.key, new Uint8Array(randomBytes(8)), 0, EMPTY_DIGEST, node.sign),
  )
}

/** One batch: a single-character delete (at `from`, `from + 1`…) by each of `replicas`. */
function deletesBy(base: Uint8Array, replicas: readonly string[], from: number): Uint8Array {
  const forge = new TextDoc('forge-table')
  forge.applyRemote(base)
  const start = forge.version()
  replicas.forEach((replica, i) => {
    const r = new TextDoc(replica)
    r.applyRemote(base)
    forge.applyRemote(r.localDelete(from + i, 1))
  })
  return forge.changesSince(start)
}

function sendSeals(to: TestNode, from: TestNode, docId: string, seals: readonly Seal[]): void {
  for (let i = 0; i < seals.length; i += MAX_SEALS_PER_BATCH) {
    from.ws
      .session(to.self)!
      .sendUpdate(docId, Channel.Seals, encodeSeals(seals.slice(i, i + MAX_SEALS_PER_BATCH)))
  }
}

it('made-up replica IDs: their ops are held within bounds and never applied; honest peers keep syncing', async () => {
  const [alice, bob, mallory] = await nodesNamed('alice', 'bob', 'mallory')
  const doc = await alice.ws.createDoc('Flooded')
  const size = 30_000
  await doc.insert(0, 'x'.repeat(size))
  const bobDoc = await join(alice, bob, doc)
  const malloryDoc = await join(alice, mallory, doc)
  const replicasBefore = Object.keys(doc.textVersion()).length
  const flood = MAX_HELD_ENTRIES + 4_000
  const ids = Array.from({ length: flood }, (_, i) => `m${i.toString(36)}`)
  mallory.ws
    .session(alice.self)!
    .sendUpdate(doc.docId, Channel.Text, deletesBy(malloryDoc.durable.allTextOps(), ids, 0))
  await until(
    'alice drops what is past the bound',
    () => alice.logs.some((l) => /limit reached, dropped/.test(l)),
    60_000,
  )
  expect(doc.text.length).toBe(size)
  expect(Object.keys(doc.textVersion()).length).toBe(replicasBefore)
  const started = performance.now()
  for (let i = 0; i < 20; i++) await doc.insert(0, 'k')
  await until('bob has the owner’s keystrokes', () => bobDoc.text.startsWith('k'.repeat(20)), 10_000)
  console.log(
    `[replica-flood] ${flood} made-up replicas: 20 owner keystrokes reached bob in ${(performance.now() - started).toFixed(0)} ms`,
  )
  expect(bobDoc.text).toBe(doc.text)
}, 120_000)

it('a device’s own replicas are capped: past the cap its claims are refused and those ops never applied', async () => {
  const [alice, bob, mallory] = await nodesNamed('alice', 'bob', 'mallory')
  const doc = await alice.ws.createDoc('Capped')
  const extra = 300
  const size = CAP + extra + 100
  await doc.insert(0, 'x'.repeat(size))
  const bobDoc = await join(alice, bob, doc)
  const malloryDoc = await join(alice, mallory, doc)
  // Mallory's own node mints the replicas and applies their ops, so it claims and seals them all.
  const minted = Array.from({ length: CAP + extra }, () => malloryDoc.mintReplica())
  await malloryDoc.applyLocalBatch(deletesBy(malloryDoc.durable.allTextOps(), minted, 0))
  // Her node's own replica is one of her device's too: it writes the author records (signed, with its
  // claim), so it takes one place under the cap.
  const bound = CAP - 1
  await until('alice applied the bound ones', () => doc.text.length === size - bound, 60_000)
  await until('bob has them (relayed by alice, sealed by mallory)', () => bobDoc.text === doc.text, 60_000)
  const mallorys = Object.keys(doc.textVersion()).filter((r) => doc.authorOf(r)?.device === mallory.self)
  expect(mallorys.length).toBe(bound)
  expect(malloryDoc.text.length).toBe(size - minted.length)
  await doc.insert(0, 'still live ')
  await until('bob still syncs', () => bobDoc.text === doc.text, 10_000)
  alice.ws.syncAll()
  bob.ws.syncAll()
  await doc.insert(0, 'after anti-entropy ')
  await until('bob in step', () => bobDoc.text === doc.text, 10_000)
  expect(doc.text.length).toBe(size - bound + 'after anti-entropy still live '.length)
}, 180_000)

it('applying a peer’s batch reads no version vector (work O(batch), not O(replicas))', async () => {
  const [alice, bob] = await nodesNamed('alice', 'bob')
  const doc = await alice.ws.createDoc('Many replicas')
  await doc.insert(0, 'x'.repeat(5_000))
  const bobDoc = await join(alice, bob, doc)
  const base = doc.durable.allTextOps()
  const minted = claims(bob, doc.docId, 2_000)
  sendSeals(alice, bob, doc.docId, minted)
  const batches = minted.map((seal, i) => {
    const r = new TextDoc(seal.replica)
    r.applyRemote(base)
    return r.localDelete(i, 1)
  })
  // Each batch from its own replica, one by one, as the flood sent them.
  const versionCalls = vi.spyOn(Replicas.prototype, 'version')
  const toAlice = bob.ws.session(alice.self)!
  for (const b of batches) toAlice.sendUpdate(doc.docId, Channel.Text, b)
  await until('alice has them all', () => doc.text.length === 3_000, 20_000)
  expect(versionCalls).not.toHaveBeenCalled()
  versionCalls.mockRestore()
  await doc.insert(0, 'live ')
  await until('bob gets alice’s edit', () => bobDoc.text.startsWith('live '), 10_000)
})
