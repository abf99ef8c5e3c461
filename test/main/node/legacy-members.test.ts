/**
 * Documents made before signed members (an LwwMap member list, records of kind 3) keep working: each
 * device reads the old list until an owner's node signs it anew (a legacy root op, then every member's
 * role again), and from then on the signed list is the authority, so an editor of the old document
 * can no longer take it over.
 */
import { afterEach, expect, it } from 'vitest'
import SecretStream from '@hyperswarm/secret-stream'
import { LwwMap } from '../../../src/shared/crdt'
import { toHex } from '../../../src/shared/sync/hex'
import type { MemoryBacking } from '../../../src/main/storage/memory-store'
import { randomId, randomKey } from '../../../src/main/node/crypto'
import { cleanup, connect, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

const LEGACY_MEMBERS = 3

/** A document as an earlier Meshpad stored it: its member list as LwwMap records, nothing signed. */
function legacyDisk(docId: string, members: Record<string, { role: string; name: string }>): MemoryBacking {
  const map = new LwwMap<unknown>('old-repl')
  const records: Uint8Array[] = []
  for (const [device, record] of Object.entries(members)) {
    const batch = map.set(device, record)
    const r = new Uint8Array(batch.length + 1)
    r[0] = LEGACY_MEMBERS
    r.set(batch, 1)
    records.push(r)
  }
  return new Map([[docId, { snapshot: null, history: [], records }]])
}

it('an owner’s node signs an old member list anew; the others take it, and its editor cannot take over', async () => {
  const pairs = [SecretStream.keyPair(), SecretStream.keyPair(), SecretStream.keyPair()]
  const [aliceKey, bobKey, malloryKey] = pairs.map((p) => toHex(p.publicKey))
  const docId = randomId(16) // a random ID, as documents had: it derives from no key
  const members = {
    [aliceKey!]: { role: 'owner', name: 'alice' },
    [bobKey!]: { role: 'editor', name: 'bob' },
    [malloryKey!]: { role: 'editor', name: 'mallory' },
  }
  const secrets = { epoch: 0, keys: { '0': toHex(randomKey()) }, bootstrap: [] }
  const start = (name: string, i: number): Promise<TestNode> =>
    makeNode(name, undefined, {
      keyPair: pairs[i]!,
      backing: legacyDisk(docId, members),
      docs: { [docId]: structuredClone(secrets) },
    })
  // Bob starts first, alone: he reads the old list, so he can still edit.
  const bob = await start('bob', 1)
  nodes.push(bob)
  const bobDoc = await bob.ws.openDoc(docId)
  expect(bobDoc.myRole).toBe('editor')
  expect(bobDoc.durable.members.root()).toBeUndefined()
  await bobDoc.insert(0, 'written before the upgrade reached bob; ')

  // Alice, the old owner, upgrades the list when she opens the document.
  const alice = await start('alice', 0)
  nodes.push(alice)
  const aliceDoc = await alice.ws.openDoc(docId)
  await until('alice signed the list', () => aliceDoc.durable.members.root() === aliceKey)
  await until('alice granted every member again', () => aliceDoc.members().length === 3)
  expect(aliceDoc.member(bobKey!)).toEqual({ role: 'editor', name: 'bob' })

  // Bob takes it (alice was an owner in his old list, so he pins her as the root).
  connect(alice, bob)
  await until('bob has the signed list', () => bobDoc.durable.members.root() === aliceKey, 5_000)
  expect(
    bobDoc
      .members()
      .map((m) => [m.device, m.record.role])
      .sort(),
  ).toEqual(
    aliceDoc
      .members()
      .map((m) => [m.device, m.record.role])
      .sort(),
  )
  await until('texts converge', () => aliceDoc.text === bobDoc.text && bobDoc.text.length > 0)

  // Mallory, an editor of the old document, upgrades too, as if she had been its owner: her node
  // refuses (she was no owner), and a signed root she forges is not one alice or bob pins.
  const mallory = await start('mallory', 2)
  nodes.push(mallory)
  const malloryDoc = await mallory.ws.openDoc(docId)
  await expect(malloryDoc.setMember(malloryKey!, 'owner', 'mallory')).rejects.toThrow(/Only an owner/)
  connect(mallory, alice)
  await until('mallory has the signed list', () => malloryDoc.durable.members.root() === aliceKey, 5_000)
  expect(malloryDoc.myRole).toBe('editor')
  await expect(malloryDoc.removeMember(aliceKey!)).rejects.toThrow(/Only an owner/)
  expect(aliceDoc.member(aliceKey!)?.role).toBe('owner')
})
