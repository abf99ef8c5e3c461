/**
 * Issue 12, attack 5: an editor mints replicas (one delete each) to bloat every version vector. Before,
 * 101,000 replicas made version vectors too big to decode (every sync-request closed the connection)
 * and work linear in the replicas per batch made the owner's next edit take 4-43 s. Now per-batch work
 * is O(batch) (`opCount`), and a document holds at most MAX_REPLICAS replicas: a batch past it is
 * refused as malformed and its sender loses access on that connection, while honest peers keep syncing.
 */
import { afterEach, expect, it, vi } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { MAX_REPLICAS, Replicas } from '../../../src/shared/crdt/replicas'
import { Channel } from '../../../src/shared/sync/messages'
import type { DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { cleanup, connect, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

async function nodesNamed<N extends string[]>(...names: N): Promise<{ [K in keyof N]: TestNode }> {
  nodes = await Promise.all(names.map((n) => makeNode(n)))
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

/** Ops from `count` fresh replicas, one single-character delete each (at `from`, `from + 1`…). */
function mintReplicas(base: Uint8Array, count: number, from: number, tag: string): Uint8Array {
  const forge = new TextDoc(`${tag}-forge`)
  forge.applyRemote(base)
  const start = forge.version()
  for (let i = 0; i < count; i++) {
    const r = new TextDoc(`${tag}${i.toString(36)}`)
    r.applyRemote(base)
    forge.applyRemote(r.localDelete(from + i, 1))
  }
  return forge.changesSince(start)
}

it('an editor minting replicas: honest peers keep syncing, past the cap the editor is cut off', async () => {
  const [alice, bob, mallory] = await nodesNamed('alice', 'bob', 'mallory')
  const doc = await alice.ws.createDoc('Flooded')
  const size = MAX_REPLICAS + 1_000
  await doc.insert(0, 'x'.repeat(size))
  const bobDoc = await join(alice, bob, doc)
  const malloryDoc = await join(alice, mallory, doc)
  const base = malloryDoc.durable.allTextOps()
  const toAlice = mallory.ws.session(alice.self)!

  // Under the cap: taken, and passed on to bob; per-batch work no longer grows with the replicas.
  const first = MAX_REPLICAS - 100
  toAlice.sendUpdate(doc.docId, Channel.Text, mintReplicas(base, first, 0, 'm'))
  await until('bob has the flood', () => bobDoc.text.length === size - first, 30_000)
  const started = performance.now()
  for (let i = 0; i < 20; i++) await doc.insert(0, 'k')
  await until('bob has the owner’s keystrokes', () => bobDoc.text.startsWith('k'.repeat(20)), 10_000)
  const keystrokesMs = performance.now() - started
  console.log(
    `[replica-flood] ${first} replicas held; 20 owner keystrokes reached bob in ${keystrokesMs.toFixed(0)} ms`,
  )
  // Anti-entropy still works: version vectors of ~65,000 replicas decode.
  alice.ws.syncAll()
  bob.ws.syncAll()
  await doc.insert(0, 'after anti-entropy ')
  await until('bob in step', () => bobDoc.text === doc.text, 10_000)
  expect(bob.ws.session(alice.self)?.isAuthenticated(doc.docId)).toBe(true)

  // Past the cap: refused as a whole, and mallory loses access on that connection.
  const before = doc.text
  toAlice.sendUpdate(doc.docId, Channel.Text, mintReplicas(base, 1_000, first, 'n'))
  await until('mallory cut off', () => alice.logs.some((l) => /at most 65536 replicas/.test(l)), 30_000)
  expect(alice.ws.session(mallory.self)?.isAuthenticated(doc.docId)).toBe(false)
  expect(doc.text).toBe(before)
  expect(Object.keys(doc.textVersion()).length).toBeLessThanOrEqual(MAX_REPLICAS)
  await doc.insert(0, 'still live ')
  await until('bob still syncs with alice', () => bobDoc.text === doc.text, 10_000)
}, 120_000)

it('applying a peer’s batch reads no version vector (work O(batch), not O(replicas))', async () => {
  const [alice, bob] = await nodesNamed('alice', 'bob')
  const doc = await alice.ws.createDoc('Many replicas')
  await doc.insert(0, 'x'.repeat(5_000))
  const bobDoc = await join(alice, bob, doc)
  const base = doc.durable.allTextOps()
  const batches = Array.from({ length: 2_000 }, (_, i) => {
    const r = new TextDoc(`r${i}`)
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
  // Bob sent them raw (as a modified client would) without applying them: anti-entropy brings them.
  bob.ws.syncAll()
  await until('bob in step', () => bobDoc.text === doc.text, 10_000)
})
