/**
 * Presence relayed through the mesh, over real nodes (TCP + Noise on 127.0.0.1): people who are not
 * directly connected see each other; a person whose last path goes is dropped at once; a member
 * cannot forge another device's presence or a non-member's; a triangle sends each presence once per
 * link; one origin cannot make the mesh relay more than its budget.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/main/net/device-key'
import type { KeyPair } from '../../src/main/net/secure-channel'
import { signerFor } from '../../src/main/node/crypto'
import type { DocSession } from '../../src/main/node/doc-session'
import { toHex } from '../../src/shared/sync/hex'
import { decodeMessage, type Message } from '../../src/shared/sync/messages'
import { ORIGIN_RATE, presenceBytes } from '../../src/shared/sync/presence'
import { ProtocolClient } from './protocol-client'
import { TcpCluster, type TcpNode } from './tcp-nodes'
import { until } from './util'

const clients: ProtocolClient[] = []

/** The states of the people `doc` sees, by device. */
const seen = (doc: DocSession): Map<string, unknown> =>
  new Map(doc.presences().map((p) => [p.device, p.state]))

/** Counts the awareness frames a node receives, from now on. */
function countAwareness(node: TcpNode): { count: number } {
  const counter = { count: 0 }
  for (const c of node.node.transport.connections()) {
    c.onMessage((frame) => {
      if (decodeMessage(frame).type === 'awareness') counter.count++
    })
  }
  return counter
}

/** A signed presence message for `docId` about `origin`, signed with `signer`'s key. */
function presence(docId: string, origin: string, signer: KeyPair, seq: number, state: string): Message {
  const signature = signerFor(signer)(presenceBytes(docId, origin, seq, state))
  return { type: 'awareness', docId, origin, seq, hops: 0, state, signature, sentTo: [] }
}

/** Mallory: a member (an editor the owner added), speaking the protocol by hand to `node`. */
async function mallorySpeaksTo(
  node: TcpNode,
  doc: DocSession,
): Promise<{ client: ProtocolClient; mallory: KeyPair; malloryKey: string }> {
  const mallory = generateKeyPair()
  const malloryKey = toHex(mallory.publicKey)
  await doc.setMember(malloryKey, 'editor', 'mallory')
  const client = await ProtocolClient.connect(node.node.port, { keyPair: mallory })
  clients.push(client)
  await client.greet('mallory')
  client.send(client.proof(doc.keyFor(0)!, doc.docId, 0))
  await client.waitFor((m) => m.type === 'sync-request', 5000) // authenticated
  return { client, mallory, malloryKey }
}

describe('presence through the mesh, over TCP', () => {
  const cluster = new TcpCluster()
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)))
    await cluster.closeAll()
  })
  afterAll(() => cluster.closeAll())

  /** Alice owns a document; Bob and Carol join through her and are not connected to each other. */
  async function line(): Promise<{
    a: TcpNode
    b: TcpNode
    c: TcpNode
    docs: [DocSession, DocSession, DocSession]
  }> {
    const a = await cluster.start('alice')
    const b = await cluster.start('bob')
    const c = await cluster.start('carol')
    const doc = await cluster.createDoc(a, 'Presence through the mesh.\n')
    const bDoc = await cluster.join(a, b, doc.docId)
    const cDoc = await cluster.join(a, c, doc.docId)
    expect(b.node.workspace.session(c.self)).toBeUndefined()
    return { a, b, c, docs: [doc, bDoc, cDoc] }
  }

  it('shows people who reach each other only through a third, and drops one whose last path goes', async () => {
    const { b, c, docs } = await line()
    const [aDoc, bDoc, cDoc] = docs
    bDoc.setAwareness({ name: 'bob', cursor: null })
    cDoc.setAwareness({ name: 'carol', cursor: null })
    await until(
      'Carol sees Bob and Bob sees Carol',
      () => seen(cDoc).has(b.self) && seen(bDoc).has(c.self),
      5000,
    )
    expect(seen(cDoc).get(b.self)).toEqual({ name: 'bob', cursor: null })
    expect([...seen(aDoc).keys()].sort()).toEqual([b.self, c.self].sort())
    // A later state replaces the earlier one everywhere.
    bDoc.setAwareness({ name: 'bob', cursor: { anchor: null, head: null } })
    await until('the new state', () => JSON.stringify(seen(cDoc).get(b.self)).includes('head'), 5000)
    // Bob's node goes away: Alice drops him at once and tells Carol, who drops him too (long before
    // the TTL, which is what a silent path would need).
    let events = 0
    cDoc.on('awareness', () => events++)
    const start = Date.now()
    await b.node.close()
    await until('Carol no longer sees Bob', () => !seen(cDoc).has(b.self), 2000)
    expect(Date.now() - start).toBeLessThan(2000)
    expect(events).toBeGreaterThan(0)
    expect(seen(aDoc).has(b.self)).toBe(false)
  })

  it('refuses a presence a member forges for another member, or for a non-member', async () => {
    const { a, b, docs } = await line()
    const [aDoc, bDoc, cDoc] = docs
    const { client, mallory, malloryKey } = await mallorySpeaksTo(a, aDoc)
    bDoc.setAwareness({ name: 'bob', cursor: null })
    await until('Carol sees Bob', () => seen(cDoc).has(b.self), 5000)
    // Mallory claims a newer presence of Bob's, signed with her own key; then one of a device that
    // is not a member at all, properly signed by it; then her own, genuine one.
    const later = Date.now() + 60_000
    client.send(presence(aDoc.docId, b.self, mallory, later, '{"name":"bob (forged)"}'))
    const stranger = generateKeyPair()
    client.send(presence(aDoc.docId, toHex(stranger.publicKey), stranger, later, '{"name":"ghost"}'))
    client.send(presence(aDoc.docId, malloryKey, mallory, later, '{"name":"mallory"}'))
    await until('Carol sees Mallory', () => seen(cDoc).has(malloryKey), 5000)
    expect(seen(cDoc).get(b.self)).toEqual({ name: 'bob', cursor: null })
    expect(seen(aDoc).get(b.self)).toEqual({ name: 'bob', cursor: null })
    expect(seen(cDoc).has(toHex(stranger.publicKey))).toBe(false)
    expect(a.log.lines.some((l) => l.includes('refused presence') && l.includes('bad signature'))).toBe(true)
    // Bob's next presence still gets through (the forged sequence number was never taken).
    bDoc.setAwareness({ name: 'bob', cursor: null, next: true })
    await until('Bob’s next state', () => JSON.stringify(seen(cDoc).get(b.self)).includes('next'), 5000)
  })

  it('sends each presence once per link in a triangle, and relays no more than an origin’s budget', async () => {
    const { a, b, c, docs } = await line()
    const [aDoc, bDoc, cDoc] = docs
    b.node.add('127.0.0.1', c.node.port)
    await until(
      'Bob and Carol connected',
      () => bDoc.peers().length === 2 && cDoc.peers().length === 2,
      10_000,
    )
    const atA = countAwareness(a)
    const atC = countAwareness(c)
    bDoc.setAwareness({ name: 'bob', cursor: null })
    await until('both have it', () => seen(aDoc).has(b.self) && seen(cDoc).has(b.self), 5000)
    await new Promise((r) => setTimeout(r, 200)) // a relay, if there were one, would be here by now
    expect(atA.count + atC.count).toBe(2) // sent to both directly, relayed by neither
    // An origin that publishes far faster than a window does: Alice relays at most its budget.
    const { client, mallory, malloryKey } = await mallorySpeaksTo(a, aDoc)
    const relayed = countAwareness(c)
    const start = Date.now()
    for (let i = 0; i < 500; i++)
      client.send(presence(aDoc.docId, malloryKey, mallory, start + i, `{"i":${i}}`))
    await until('Carol sees Mallory', () => seen(cDoc).has(malloryKey), 5000)
    await new Promise((r) => setTimeout(r, 300))
    const seconds = (Date.now() - start) / 1000
    // Carol hears Mallory from Alice and, relayed, from Bob: each relays at most the budget.
    expect(relayed.count).toBeLessThanOrEqual(
      2 * (ORIGIN_RATE.burst + Math.ceil(ORIGIN_RATE.perSecond * seconds)),
    )
    expect(relayed.count).toBeGreaterThan(0)
  })
})
