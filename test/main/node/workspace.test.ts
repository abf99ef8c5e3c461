import { afterEach, describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { Channel, decodeMessage, encodeMessage, type Message } from '../../../src/shared/sync/messages'
import { docProof } from '../../../src/shared/sync/session'
import { nodeCrypto } from '../../../src/main/node/crypto'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { cleanup, connect, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

async function cluster<N extends string[]>(...names: N): Promise<{ [K in keyof N]: TestNode }> {
  const made = await Promise.all(names.map((n) => makeNode(n)))
  nodes.push(...made)
  return made as { [K in keyof N]: TestNode }
}

/** Alice creates a document and brings `others` in through invites. */
async function sharedDoc(alice: TestNode, others: TestNode[], role: 'editor' | 'viewer' = 'editor') {
  const doc = await alice.ws.createDoc('Notes')
  await doc.insert(0, 'hello')
  for (const other of others) {
    connect(alice, other)
    await until('hello', () => other.ws.session(alice.self)?.ready === true)
    const code = await alice.ws.createInvite(doc.docId, role, [{ host: '127.0.0.1', port: 9 }])
    other.ws.redeemWith(other.ws.session(alice.self)!, decodeInvite(code))
    await until(`${other.name} joined`, () => other.ws.doc(doc.docId)?.text === alice.ws.doc(doc.docId)?.text)
  }
  return doc
}

const EMPTY = new Uint8Array(0)

describe('Workspace over in-memory links', () => {
  it('joins by invite, then edits flow both ways and converge', async () => {
    const [alice, bob] = await cluster('alice', 'bob')
    const doc = await sharedDoc(alice, [bob])
    const bobDoc = bob.ws.doc(doc.docId)!
    expect(bobDoc.text).toBe('hello')
    expect(bobDoc.title).toBe('Notes')
    expect(bobDoc.member(bob.self)?.role).toBe('editor')
    await bobDoc.insert(5, ' world')
    await doc.insert(0, '> ')
    await until('converged', () => doc.text === bobDoc.text && doc.text === '> hello world')
  })

  it("relays through a middle peer: carol gets alice's edits through bob", async () => {
    const [alice, bob, carol] = await cluster('alice', 'bob', 'carol')
    const doc = await sharedDoc(alice, [bob, carol])
    const carolDoc = carol.ws.doc(doc.docId)!
    alice.ws.disconnect(carol.self)
    await until('alice-carol gone', () => carol.ws.session(alice.self) === undefined)
    connect(bob, carol)
    await until('bob-carol auth', () => carol.ws.session(bob.self)?.isAuthenticated(doc.docId) === true)
    await doc.insert(0, 'A')
    await until('carol has A', () => carolDoc.text === 'Ahello')
  })

  it('refuses an invite used twice, and one that expired', async () => {
    let now = 1_000_000
    const alice = await makeNode('alice', () => now)
    const [bob, carol, dave] = await cluster('bob', 'carol', 'dave')
    nodes.push(alice)
    const doc = await alice.ws.createDoc('Secret')
    const code = await alice.ws.createInvite(doc.docId, 'editor', [], 60_000)
    const results: string[] = []
    for (const n of [bob, carol]) {
      connect(alice, n)
      n.ws.on('join-result', (_id, ok, reason) => results.push(`${n.name}:${ok}:${reason}`))
      await until('hello', () => n.ws.session(alice.self)?.ready === true)
      n.ws.redeemWith(n.ws.session(alice.self)!, decodeInvite(code))
      await until(`${n.name} answered`, () => results.some((r) => r.startsWith(n.name)))
    }
    expect(results[0]).toMatch(/^bob:true/)
    expect(results[1]).toMatch(/^carol:false/)
    expect(carol.ws.doc(doc.docId)).toBeUndefined()

    const late = await alice.ws.createInvite(doc.docId, 'editor', [], 60_000)
    now += 61_000
    connect(alice, dave)
    dave.ws.on('join-result', (_id, ok) => results.push(`dave:${ok}`))
    await until('hello', () => dave.ws.session(alice.self)?.ready === true)
    dave.ws.redeemWith(dave.ws.session(alice.self)!, decodeInvite(late))
    await until('dave answered', () => results.some((r) => r.startsWith('dave')))
    expect(results).toContain('dave:false')
  })

  it('gives a non-member or a wrong key no document data (replays: test/integration)', async () => {
    const [alice, bob, eve] = await cluster('alice', 'bob', 'eve')
    const doc = await sharedDoc(alice, [bob])
    const [, eveEnd] = connect(alice, eve)
    const seen: string[] = []
    eveEnd.onMessage((f) => seen.push(decodeMessage(f).type))
    await until('hello', () => eve.ws.session(alice.self)?.ready === true)
    const send = (m: Message): void => eveEnd.send(encodeMessage(m))
    // a made-up proof, a proof with the wrong key, and bob's genuine proof replayed on eve's link
    send({ type: 'doc-auth', docId: doc.docId, epoch: 0, proof: new Uint8Array(32), verified: false })
    const wrongKey = docProof(
      nodeCrypto,
      new Uint8Array(32).fill(7),
      new Uint8Array(32),
      doc.docId,
      eve.key,
      0,
    )
    send({ type: 'doc-auth', docId: doc.docId, epoch: 0, proof: wrongKey, verified: false })
    send({ type: 'sync-request', docId: doc.docId, versions: [{}, {}, {}, {}] })
    await doc.insert(0, 'private ')
    await until('denials', () => seen.filter((t) => t === 'doc-deny').length >= 2)
    await new Promise((r) => setTimeout(r, 30))
    expect(seen).not.toContain('sync-reply')
    expect(seen).not.toContain('update')
    expect(alice.ws.session(eve.self)!.isAuthenticated(doc.docId)).toBe(false)
  })

  it('a viewer cannot edit, and its edits are refused by every peer', async () => {
    const [alice, bob] = await cluster('alice', 'bob')
    const doc = await sharedDoc(alice, [bob], 'viewer')
    const bobDoc = bob.ws.doc(doc.docId)!
    await expect(bobDoc.insert(0, 'x')).rejects.toThrow(/viewer/)
    // A modified client that edits anyway: alice refuses the batch.
    const forged = new TextDoc('forged')
    const batch = forged.localInsert(0, 'vandalism')
    alice.ws
      .session(bob.self)!
      .receive(encodeMessage({ type: 'update', docId: doc.docId, channel: 0, batch, sentTo: [] }))
    await new Promise((r) => setTimeout(r, 30))
    expect(doc.text).toBe('hello')
    expect(alice.logs.filter((l) => /refused edits/.test(l))).toHaveLength(1)
    // Its reply to alice's sync request (what it holds) is dropped without a word: not an edit of its
    // own, and anti-entropy asks for one every round.
    alice.ws
      .session(bob.self)!
      .receive(encodeMessage({ type: 'sync-reply', docId: doc.docId, batches: [batch, EMPTY, EMPTY, EMPTY] }))
    await new Promise((r) => setTimeout(r, 30))
    expect(doc.text).toBe('hello')
    expect(alice.logs.filter((l) => /refused edits/.test(l))).toHaveLength(1)
  })

  it('removing a member rotates the key and cuts the member off', async () => {
    const [alice, bob, carol] = await cluster('alice', 'bob', 'carol')
    const doc = await sharedDoc(alice, [bob, carol])
    const epoch = doc.epoch
    await doc.removeMember(carol.self)
    expect(doc.epoch).toBe(epoch + 1)
    await until('bob has the new key', () => bob.ws.doc(doc.docId)!.epoch === epoch + 1)
    expect(carol.ws.doc(doc.docId)!.epoch).toBe(epoch)
    expect(alice.ws.session(carol.self)!.isAuthenticated(doc.docId)).toBe(false)
    await doc.insert(0, 'after removal ')
    await until('bob sees it', () => bob.ws.doc(doc.docId)!.text.startsWith('after removal'))
    await new Promise((r) => setTimeout(r, 30))
    expect(carol.ws.doc(doc.docId)!.text.startsWith('after removal')).toBe(false)
  })

  it('a join request is approved by the owner, on the LAN list only', async () => {
    const [alice, bob] = await cluster('alice', 'bob')
    const doc = await alice.ws.createDoc('Shared')
    await doc.insert(0, 'shared text')
    await alice.ws.shareOnLan(doc.docId, true)
    connect(alice, bob)
    await until('bob sees the list', () =>
      bob.ws.nearby().some((n) => n.docs.some((d) => d.docId === doc.docId)),
    )
    const listed = bob.ws.nearby()[0]!.docs[0]!
    expect(listed).toMatchObject({ title: 'Shared', ownerName: 'alice', memberCount: 1 })
    bob.ws.requestJoin(alice.self, doc.docId)
    await until('request arrives', () => alice.ws.pendingJoinRequests().length === 1)
    await alice.ws.approveJoin(alice.ws.pendingJoinRequests()[0]!.id, 'editor')
    await until('bob synced', () => bob.ws.doc(doc.docId)?.text === 'shared text')
  })
})

describe('relaying', () => {
  it('passes each batch on once: a triangle of peers does not echo it forever', async () => {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => makeNode(n)))
    nodes.push(alice!, bob!, carol!)
    const doc = await alice!.ws.createDoc('T')
    await doc.insert(0, 'hello')
    for (const other of [bob!, carol!]) {
      connect(alice!, other)
      await until('hello', () => other.ws.session(alice!.self)?.ready === true)
      const code = await alice!.ws.createInvite(doc.docId, 'editor', [])
      other.ws.redeemWith(other.ws.session(alice!.self)!, decodeInvite(code))
      await until('joined', () => other.ws.doc(doc.docId)?.text === 'hello')
    }
    connect(bob!, carol!)
    await until('bob-carol', () => carol!.ws.session(bob!.self)?.isAuthenticated(doc.docId) === true)
    let applied = 0
    for (const n of [alice!, bob!, carol!]) {
      const d = n.ws.doc(doc.docId)!
      const apply = d.applyRemote.bind(d)
      d.applyRemote = (channel, batch, from) => {
        if (channel === Channel.Text) applied++
        apply(channel, batch, from)
      }
    }
    await doc.insert(0, 'X')
    await until('everyone has it', () => [bob!, carol!].every((n) => n.ws.doc(doc.docId)!.text === 'Xhello'))
    await new Promise((r) => setTimeout(r, 200))
    // alice -> bob, alice -> carol, then each relays once to the other: at most 4 receptions, and no more later.
    expect(applied).toBeLessThanOrEqual(4)
  })
})

describe('relaying in a full mesh', () => {
  it('sends each batch once to each peer: nobody relays what the sender already sent everyone', async () => {
    const names = ['alice', 'bob', 'carol', 'dave']
    const [alice, ...others] = await Promise.all(names.map((n) => makeNode(n)))
    nodes.push(alice!, ...others)
    const doc = await alice!.ws.createDoc('Mesh')
    await doc.insert(0, 'hello')
    for (const other of others) {
      connect(alice!, other)
      await until('hello', () => other.ws.session(alice!.self)?.ready === true)
      const code = await alice!.ws.createInvite(doc.docId, 'editor', [])
      other.ws.redeemWith(other.ws.session(alice!.self)!, decodeInvite(code))
      await until('joined', () => other.ws.doc(doc.docId)?.text === 'hello')
    }
    for (let i = 0; i < others.length; i++) {
      for (let j = i + 1; j < others.length; j++) {
        connect(others[i]!, others[j]!)
        await until('mesh', () => others[j]!.ws.session(others[i]!.self)?.isAuthenticated(doc.docId) === true)
      }
    }
    let received = 0
    let seals = 0
    for (const n of [alice!, ...others]) {
      const d = n.ws.doc(doc.docId)!
      const apply = d.applyRemote.bind(d)
      d.applyRemote = (channel, batch, from, sentTo) => {
        if (channel === Channel.Text) received++
        else if (channel === Channel.Seals) seals++
        apply(channel, batch, from, sentTo)
      }
    }
    await doc.insert(0, 'X')
    await until('all have it', () => others.every((n) => n.ws.doc(doc.docId)!.text === 'Xhello'))
    await new Promise((r) => setTimeout(r, 100))
    expect(received).toBe(3) // alice to each of the three; no relays
    // Once the edits pause, alice seals them (replica-seal.ts): one seal to each peer, none relayed.
    await until('sealed', () => seals >= 3, 5_000)
    await new Promise((r) => setTimeout(r, 200))
    expect(seals).toBe(3)
  })
})
