/**
 * DocSession.prepareToEdit: a replica's claim and author record go out when a window (or a terminal)
 * opens the document to edit it, not with its first keystroke, so that keystroke travels alone. Over
 * real sockets: the peer knows whose the replica is before any op of it exists; the first edit writes
 * no second record; an edit that comes while the record is still being written waits for it; a
 * viewer writes nothing.
 */
import { afterEach, expect, it, vi } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { cleanup, connect, joinByInvite, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

async function pair(): Promise<[TestNode, TestNode]> {
  const alice = await makeNode('alice')
  const bob = await makeNode('bob')
  nodes.push(alice, bob)
  return [alice, bob]
}

/** Alice's document holding `text`, joined by Bob as an editor, and a new window's replica on it. */
async function joined(text: string) {
  const [alice, bob] = await pair()
  const doc = await alice.ws.createDoc('Prepared')
  await doc.insert(0, text)
  const bobDoc = await joinByInvite(alice, bob, doc.docId)
  const replica = doc.mintReplica()
  const window = new TextDoc(replica)
  window.applyRemote(doc.durable.allTextOps())
  return { alice, doc, bobDoc, replica, window }
}

it('tells every peer whose a replica is before its first keystroke, and writes its record once', async () => {
  const { alice, doc, bobDoc, replica, window } = await joined('Hello')
  await doc.prepareToEdit(replica)
  await until("bob knows the window's replica", () => bobDoc.authorOf(replica) !== undefined)
  expect(bobDoc.authorOf(replica)).toMatchObject({ device: alice.self, name: 'alice' })
  expect(bobDoc.textVersion()[replica]).toBeUndefined()

  const staged = vi.spyOn(doc.durable, 'stageProp')
  await doc.applyLocalBatch(window.localInsert(5, '!'))
  await until('bob has the keystroke', () => bobDoc.text === 'Hello!')
  expect(staged).not.toHaveBeenCalled()
})

it('makes a first edit that comes while the record is being written wait for it, and write none of its own', async () => {
  const { alice, doc, bobDoc, replica, window } = await joined('ab')
  const staged = vi.spyOn(doc.durable, 'stageProp')
  const preparing = doc.prepareToEdit(replica)
  const typed = doc.applyLocalBatch(window.localInsert(2, 'c'))
  await Promise.all([preparing, typed])
  expect(staged).toHaveBeenCalledTimes(1)
  await until('bob has the keystroke', () => bobDoc.text === 'abc')
  expect(bobDoc.authorOf(replica)?.device).toBe(alice.self)
})

it('writes nothing for a viewer', async () => {
  const [alice, bob] = await pair()
  const doc = await alice.ws.createDoc('Read only')
  await doc.insert(0, 'Look, do not touch')
  connect(alice, bob)
  await until('hello', () => bob.ws.session(alice.self)?.ready === true)
  const code = await alice.ws.createInvite(doc.docId, 'viewer', [{ host: '127.0.0.1', port: 9 }])
  bob.ws.redeemWith(bob.ws.session(alice.self)!, decodeInvite(code))
  await until('bob joined', () => bob.ws.doc(doc.docId)?.text === doc.text)
  const bobDoc = bob.ws.doc(doc.docId)!
  const staged = vi.spyOn(bobDoc.durable, 'stageProp')
  await bobDoc.prepareToEdit(bobDoc.mintReplica())
  await bobDoc.prepareToEdit()
  expect(staged).not.toHaveBeenCalled()
})

it('tries a record that could not be written again with the first edit', async () => {
  const { doc, bobDoc, replica, window } = await joined('x')
  vi.spyOn(doc.durable, 'stageProp').mockImplementationOnce(() => {
    throw new Error('ENOSPC: no space left on device')
  })
  await expect(doc.prepareToEdit(replica)).rejects.toThrow(/ENOSPC/)
  await doc.applyLocalBatch(window.localInsert(1, 'y'))
  await until('bob has the keystroke and knows its author', () => bobDoc.text === 'xy')
  await until("bob knows the keystroke's author", () => bobDoc.authorOf(replica) !== undefined)
})
