/**
 * Key epochs when owners act apart (issue 12, found by the member-authority attack tests): two owners
 * that each remove someone while disconnected make two different keys for the same epoch, and a
 * removed owner can plant a key on a peer its removal has not reached. Membership is checked apart
 * from the key, so peers step down to an older epoch's proof, which every member holds, and sync; and
 * a device removed while apart is told so rather than kept believing it is a member.
 */
import { afterEach, expect, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { cleanup, connect, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

async function node(name: string): Promise<TestNode> {
  const n = await makeNode(name)
  nodes.push(n)
  return n
}

async function invite(owner: TestNode, other: TestNode, doc: DocSession, role: 'editor' | 'viewer') {
  const [link] = connect(owner, other)
  await until('hello', () => other.ws.session(owner.self)?.ready === true)
  const code = await owner.ws.createInvite(doc.docId, role, [{ host: '127.0.0.1', port: 9 }])
  other.ws.redeemWith(other.ws.session(owner.self)!, decodeInvite(code))
  await until(`${other.name} joined`, () => other.ws.doc(doc.docId)?.text === doc.text)
  return { doc: other.ws.doc(doc.docId)!, link }
}

const roles = (d: DocSession): string =>
  JSON.stringify(
    d
      .members()
      .map((m) => [m.device, m.record.role])
      .sort(),
  )

it('two owners that each remove someone while apart still authenticate and converge', async () => {
  const [root, ann, e1, e2] = (await Promise.all(['root', 'ann', 'e1', 'e2'].map(node))) as TestNode[] as [
    TestNode,
    TestNode,
    TestNode,
    TestNode,
  ]
  const doc = await root.ws.createDoc('Apart')
  await doc.insert(0, 'shared text')
  const { doc: annDoc, link: rootAnn } = await invite(root, ann, doc, 'editor')
  await doc.setMember(ann.self, 'owner', 'ann')
  await invite(root, e1, doc, 'editor')
  await invite(root, e2, doc, 'editor')
  await until('ann knows everyone', () => roles(annDoc) === roles(doc))
  rootAnn.close('apart')
  // Each removes a different editor: two different keys for epoch 1.
  await doc.removeMember(e1.self)
  await annDoc.removeMember(e2.self)
  expect(doc.epoch).toBe(1)
  expect(annDoc.epoch).toBe(1)
  expect(Buffer.from(doc.keyFor(1)!).equals(Buffer.from(annDoc.keyFor(1)!))).toBe(false)
  await doc.insert(0, 'root: ')
  await annDoc.insert(annDoc.text.length, ' (ann)')

  connect(root, ann)
  await until(
    'root and ann authenticated',
    () => root.ws.session(ann.self)?.isAuthenticated(doc.docId) === true,
  )
  await until('members converge', () => roles(doc) === roles(annDoc))
  await until('texts converge', () => doc.text === annDoc.text)
  expect(doc.text).toBe('root: shared text (ann)')
  expect(doc.member(e1.self)?.role).toBe('removed')
  expect(doc.member(e2.self)?.role).toBe('removed')
})

it('a device removed while apart is told so when it comes back, and gets nothing', async () => {
  const [root, bob] = (await Promise.all(['root', 'bob'].map(node))) as [TestNode, TestNode]
  const doc = await root.ws.createDoc('Removed')
  await doc.insert(0, 'before')
  const { doc: bobDoc, link } = await invite(root, bob, doc, 'editor')
  link.close('apart')
  await doc.removeMember(bob.self)
  await doc.insert(0, 'secret after the removal: ')
  const denials: string[] = []
  bob.ws.on('doc-denied', (docId, _device, _code, reason) => {
    if (docId === doc.docId) denials.push(reason)
  })
  connect(root, bob)
  await until('bob is told', () => denials.length > 0)
  expect(denials[0]).toMatch(/removed this device/)
  expect(bobDoc.text).toBe('before')
  expect(root.ws.session(bob.self)?.isAuthenticated(doc.docId)).toBe(false)
})
