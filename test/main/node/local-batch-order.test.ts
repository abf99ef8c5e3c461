/**
 * A window's batches are applied in the order it gave them, even while the first one's author record
 * is still being written: each window has its own replica, so its first batch registers an author
 * (a claim and a property write, on disk) and the batches after it must not overtake it. Over Electron's
 * IPC and browser mode alike, a request is started before the one before it has answered.
 */
import { afterEach, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { cleanup, joinByInvite, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

it("a new window's keystrokes, given one after another without waiting, are applied and sent in that order", async () => {
  const alice = await makeNode('alice')
  const bob = await makeNode('bob')
  nodes.push(alice, bob)
  const doc = await alice.ws.createDoc('Order')
  await doc.insert(0, 'Typed: ')
  const bobDoc = await joinByInvite(alice, bob, doc.docId)
  const window = new TextDoc(doc.mintReplica())
  window.applyRemote(doc.durable.allTextOps())
  const keys = [...'order']
  const batches = keys.map((key) => window.localInsert(window.length, key))

  const applied: Uint8Array[] = []
  doc.on('batch', (batch: Uint8Array, origin: string) => {
    if (origin === 'local') applied.push(batch)
  })
  const arrived: string[] = []
  bobDoc.on('batch', (_batch: Uint8Array, origin: string) => {
    if (origin === 'remote') arrived.push(bobDoc.text)
  })
  await Promise.all(batches.map((batch) => doc.applyLocalBatch(batch)))

  expect(applied).toEqual(batches)
  expect(doc.text).toBe('Typed: order')
  await until('bob has every key', () => bobDoc.text === doc.text)
  // Each arrived in order: none waited at bob for one sent after it.
  expect(arrived).toEqual(keys.map((_, i) => `Typed: ${keys.slice(0, i + 1).join('')}`))
})
