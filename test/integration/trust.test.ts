/**
 * "Trust no member" (issue 12): attacks by members and strangers that speak the real protocol (TCP +
 * Noise, the project's own message code, test/integration/protocol-client.ts) against whole nodes on
 * 127.0.0.1, each followed by a check that the attack had no effect and that the honest peers' texts
 * and member lists are equal and complete afterwards.
 *
 * 1. A viewer offers key epochs (2^53−1, the next one, a later one): refused, so the owner's next
 *    removal still reaches every member, who keep syncing with the owner.
 * 2. An editor writes a property and a member entry stamped (2^53−1, 2^53−1), and others stamped a
 *    day ahead: refused, not stored, not relayed; the owner's clock is untouched, so its later writes,
 *    the editor's removal among them, reach every peer.
 * 3. A stranger sends 200,000 join requests: one stays pending, the owner's memory does not grow
 *    with them, and the list of pending requests never passes its cap.
 * 4. A stranger cannot tell a document a node holds from one it does not: the same denial for both.
 * 5. An editor floods replicas, one delete each: 20,000 claimed under its own key (past the 16,384 a
 *    device may bind) and 20,000 made up (no claim). Only the bound ones are applied, everywhere alike;
 *    the owner's next keystrokes reach the peer at once (before, 101,000 replicas made them take
 *    4–43 s and cut connections); the owner's memory stays bounded.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/main/net/device-key'
import type { KeyPair } from '../../src/main/net/secure-channel'
import type { DocSession } from '../../src/main/node/doc-session'
import { MAX_JOIN_REQUESTS } from '../../src/main/node/workspace'
import { signerFor } from '../../src/main/node/crypto'
import { MAX_REPLICAS_PER_DEVICE, streamDigest } from '../../src/main/node/provenance'
import {
  EMPTY_DIGEST,
  encodeSeals,
  makeSeal,
  MAX_SEALS_PER_BATCH,
  type Seal,
} from '../../src/main/node/replica-seal'
import { TextDoc } from '../../src/shared/crdt'
import { toHex } from '../../src/shared/sync/hex'
import { Channel, type Message, type Role } from '../../src/shared/sync/messages'
import { forgedWrite } from '../shared/crdt/forged-stamps'
import { ProtocolClient, update } from './protocol-client'
import { TcpCluster, type TcpNode } from './tcp-nodes'
import { sleep, until } from './util'

const log = (line: string): void => console.log(`[trust] ${line}`)

/** A full GC (the test workers run with --expose-gc: vitest.config.ts). */
function collectGarbage(): void {
  const gc = globalThis.gc
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts passes it to the test workers)')
  gc()
  gc()
}

const mib = (n: number): string => (n / 2 ** 20).toFixed(1)
const keyHex = (d: DocSession, epoch = d.epoch): string => toHex(d.keyFor(epoch)!)
const membersOf = (d: DocSession): string =>
  JSON.stringify(d.members().map((m) => [m.device, m.record.role, m.record.name]))
const propsOf = (d: DocSession): string => JSON.stringify(d.durable.props.entries())

/**
 * A member played by a hand-driven client: the owner adds its device to the member list (as an invite
 * would) and it holds the document key, as a member's own device or a thief of its data dir does.
 */
async function memberClient(
  owner: TcpNode,
  doc: DocSession,
  role: Role,
  name: string,
  others: readonly TcpNode[],
): Promise<{ keyPair: KeyPair; device: string; connect: (node: TcpNode) => Promise<ProtocolClient> }> {
  const keyPair = generateKeyPair()
  const device = toHex(keyPair.publicKey)
  await doc.setMember(device, role, name)
  for (const n of others) {
    await until(
      `${n.name} knows ${name}`,
      () => n.node.workspace.doc(doc.docId)?.roleOf(device) === role,
      10_000,
    )
  }
  const connect = async (node: TcpNode): Promise<ProtocolClient> => {
    const c = await ProtocolClient.connect(node.node.port, { keyPair })
    clients.push(c)
    await c.greet(name)
    c.send(c.proof(doc.keyFor(0)!, doc.docId, 0))
    await c.waitFor((m) => m.type === 'sync-request' && m.docId === doc.docId, 5000) // authenticated
    return c
  }
  return { keyPair, device, connect }
}

const clients: ProtocolClient[] = []

describe('trust no member: attacks over TCP + Noise on 127.0.0.1', () => {
  const cluster = new TcpCluster()
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)))
    await cluster.closeAll()
  })
  afterAll(() => cluster.closeAll())

  it('1. a viewer’s key-shares are refused, and the owner’s next removal reaches every member', async () => {
    const owner = await cluster.start('owner')
    const ed = await cluster.start('ed')
    const em = await cluster.start('em')
    const doc = await cluster.createDoc(owner, 'Key rotation under attack.\n')
    const edDoc = await cluster.join(owner, ed, doc.docId)
    await cluster.join(owner, em, doc.docId)
    const vera = await memberClient(owner, doc, 'viewer', 'vera', [ed, em])
    const atOwner = await vera.connect(owner)
    const atEd = await vera.connect(ed)

    // The viewer offers an epoch of 2^53−1 (the next removal would make 2^53: undecodable), the very
    // next epoch and a later one, each with a key of her own, to the owner and to an editor.
    const epochs = [2 ** 53 - 1, 1, 7]
    for (const c of [atOwner, atEd]) {
      for (const epoch of epochs) {
        c.send({ type: 'key-share', docId: doc.docId, epoch, key: new Uint8Array(32).fill(epoch % 251) })
      }
    }
    const refusals = (n: TcpNode): number =>
      n.log.lines.filter((l) => l.includes('refused a key-share')).length
    await until('both refused all three', () => refusals(owner) === 3 && refusals(ed) === 3, 10_000)
    expect(doc.epoch).toBe(0)
    expect(edDoc.epoch).toBe(0)
    // Refused and logged; her connections stay (she is a member, and may be an older version).
    expect(atOwner.connection.closed).toBe(false)
    expect(atEd.connection.closed).toBe(false)

    // The owner removes em: epoch 1, with the owner's key, reaches ed (and the viewer, still a member).
    await doc.removeMember(em.self)
    await until('ed at epoch 1', () => edDoc.epoch === 1, 10_000)
    expect(keyHex(edDoc)).toBe(keyHex(doc))
    await atOwner.waitFor((m) => m.type === 'key-share' && m.epoch === 1, 5000)

    // …and ed keeps syncing with the owner, over this connection and over a new one proved at epoch 1.
    await doc.insert(0, 'owner after removal. ')
    await edDoc.insert(edDoc.text.length, 'ed after removal.')
    await until('converged', () => doc.text === edDoc.text && edDoc.text.includes('owner after'), 10_000)
    const ed2 = await cluster.restart(ed)
    ed2.node.add('127.0.0.1', owner.node.port)
    const ed2Doc = (): DocSession | undefined => ed2.node.workspace.doc(doc.docId)
    await until(
      'ed back and authenticated at epoch 1',
      () => owner.node.workspace.session(ed2.self)?.isAuthenticated(doc.docId) === true,
      10_000,
    )
    await doc.insert(0, 'and again. ')
    await until('ed has it', () => ed2Doc()?.text === doc.text, 10_000)
    expect(ed2Doc()!.epoch).toBe(1)
    expect(membersOf(ed2Doc()!)).toBe(membersOf(doc))
    expect(doc.member(em.self)?.role).toBe('removed')
    log(`viewer's key-shares (epochs ${epochs.join(', ')}) refused; removal rotated to epoch 1 everywhere`)
  }, 60_000)

  it('2. writes stamped (2^53−1, 2^53−1) or a day ahead are refused; the owner’s removal of the editor reaches every peer', async () => {
    const owner = await cluster.start('owner')
    const peer = await cluster.start('peer')
    const doc = await cluster.createDoc(owner, 'Clocks under attack.\n')
    const peerDoc = await cluster.join(owner, peer, doc.docId)
    const mallory = await memberClient(owner, doc, 'editor', 'mallory', [peer])
    const c = await mallory.connect(owner) // to the owner only: what reaches the peer, the owner relayed
    const propsBefore = propsOf(doc)
    const membersBefore = membersOf(doc)

    const huge = 2 ** 53 - 1
    const dayAhead = Date.now() + 24 * 60 * 60 * 1000
    const selfRecord = { role: 'owner', name: 'mallory' }
    // Within the static bounds, a day ahead: refused by the window (a wrong clock, maybe): peer kept.
    c.send(update(doc.docId, Channel.Props, forgedWrite('malloryB', 1, 'title', 'tomorrow', dayAhead, 0)))
    c.send(
      update(doc.docId, Channel.Members, forgedWrite('malloryB', 1, mallory.device, selfRecord, dayAhead, 0)),
    )
    // Outside them: malformed.
    c.send(update(doc.docId, Channel.Props, forgedWrite('malloryA', 1, 'title', 'pwned', huge, huge)))
    c.send(
      update(doc.docId, Channel.Members, forgedWrite('malloryA', 1, mallory.device, selfRecord, huge, huge)),
    )
    await until(
      'the owner refused all four',
      () =>
        owner.log.lines.some((l) => /refused writes .* ahead/.test(l)) &&
        owner.log.lines.filter((l) => /malformed batch .*out of range/.test(l)).length >= 1,
      10_000,
    )
    await sleep(300) // anything the owner would pass on arrives now
    // Not applied, not stored (replica unknown), not relayed to the peer.
    expect(propsOf(doc)).toBe(propsBefore)
    expect(membersOf(doc)).toBe(membersBefore)
    for (const d of [doc, peerDoc]) {
      expect(Object.keys(d.durable.props.version())).not.toContain('malloryA')
      expect(Object.keys(d.durable.props.version())).not.toContain('malloryB')
      expect(Object.keys(d.durable.members.version())).not.toContain('malloryA')
      expect(Object.keys(d.durable.members.version())).not.toContain('malloryB')
    }
    expect(peer.log.lines.filter((l) => /refused|malformed/.test(l))).toEqual([])

    // The owner's clock was not moved: its writes decode everywhere, the removal of mallory included.
    await doc.setProp('title', 'still the owner’s')
    await doc.removeMember(mallory.device)
    await doc.insert(0, 'after the removal: ')
    await until(
      'the peer has the owner’s writes and the removal',
      () =>
        peerDoc.title === 'still the owner’s' &&
        peerDoc.member(mallory.device)?.role === 'removed' &&
        peerDoc.text === doc.text,
      10_000,
    )
    await until('the peer has the new key', () => peerDoc.epoch === 1, 10_000)
    expect(propsOf(peerDoc)).toBe(propsOf(doc))
    expect(membersOf(peerDoc)).toBe(membersOf(doc))
    expect(owner.node.workspace.session(peer.self)?.isAuthenticated(doc.docId)).toBe(true)
    log('future-stamped writes refused; the removal of their author reached every peer')
  }, 60_000)

  it('3. 200,000 join requests from strangers: bounded list, bounded memory, and honest joiners still get in', async () => {
    const owner = await cluster.start('owner', { antiEntropyMs: 1000 })
    const shared: DocSession[] = []
    for (let i = 0; i < 4; i++) {
      const d = await cluster.createDoc(owner, `shared ${i}\n`)
      await owner.node.workspace.shareOnLan(d.docId, true)
      shared.push(d)
    }
    const ws = owner.node.workspace
    let announced = 0
    let maxListed = 0
    ws.on('join-request', () => {
      announced++
      maxListed = Math.max(maxListed, ws.pendingJoinRequests().length)
    })

    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed
    // One stranger sends 200,000 requests for a shared document, each with a new name.
    const FLOOD = 200_000
    const flooder = await ProtocolClient.connect(owner.node.port)
    clients.push(flooder)
    flooder.connection.onMessage(() => undefined)
    await flooder.greet('flood')
    const docId = shared[0]!.docId
    for (let i = 0; i < FLOOD; i++) {
      flooder.send({ type: 'join-request', docId, name: `flood ${i}` })
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r))
    }
    // Frames are handled in order: once a last doc-auth is answered, the node has read the flood.
    const sentinel = 'ee'.repeat(16)
    flooder.send({ type: 'doc-auth', docId: sentinel, epoch: 0, proof: new Uint8Array(32), verified: false })
    await flooder.waitFor((m) => m.type === 'doc-deny' && m.docId === sentinel, 60_000)
    collectGarbage()
    const heapAfter = process.memoryUsage().heapUsed
    expect(ws.pendingJoinRequests()).toHaveLength(1)
    expect(ws.pendingJoinRequests()[0]!.name).toBe('flood 0') // a repeat does not rename a request
    expect(announced).toBe(1)
    expect(flooder.connection.closed).toBe(false)

    // Twenty more strangers ask for all four documents: the list stops at its cap, the rest are told.
    const strangers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const s = await ProtocolClient.connect(owner.node.port)
        clients.push(s)
        await s.greet(`stranger ${i}`)
        for (const d of shared) s.send({ type: 'join-request', docId: d.docId, name: `stranger ${i}` })
        return s
      }),
    )
    const refused = (): number =>
      strangers.reduce(
        (n, s) => n + s.received.filter((m) => m.type === 'doc-deny' && /too many/.test(m.reason)).length,
        0,
      )
    const expectedRefused = 1 + 20 * 4 - MAX_JOIN_REQUESTS
    await until(
      () =>
        `the excess refused: ${refused()} of ${expectedRefused}; ${ws.pendingJoinRequests().length} listed; ` +
        `${strangers.filter((s) => s.connection.closed).length} closed; ${owner.log.lines.slice(-3).join(' | ')}`,
      () => refused() === expectedRefused,
      10_000,
    )
    expect(ws.pendingJoinRequests()).toHaveLength(MAX_JOIN_REQUESTS)
    expect(maxListed).toBeLessThanOrEqual(MAX_JOIN_REQUESTS)
    expect(announced).toBe(MAX_JOIN_REQUESTS)

    // The strangers leave; their requests go with them, and an honest device's request gets through.
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await until('list emptied', () => ws.pendingJoinRequests().length === 0, 10_000)
    const honest = await cluster.start('honest')
    honest.node.add('127.0.0.1', owner.node.port)
    await until('connected', () => honest.node.workspace.session(owner.self)?.ready === true, 10_000)
    honest.node.workspace.requestJoin(owner.self, docId)
    await until('request listed', () => ws.pendingJoinRequests().length === 1, 10_000)
    await ws.approveJoin(ws.pendingJoinRequests()[0]!.id, 'editor')
    await until('joined and synced', () => honest.node.workspace.doc(docId)?.text === shared[0]!.text, 10_000)
    const honestDoc = honest.node.workspace.doc(docId)!
    await honestDoc.insert(0, 'hello from the honest joiner. ')
    await until('converged', () => shared[0]!.text === honestDoc.text, 10_000)
    await until('members equal', () => membersOf(honestDoc) === membersOf(shared[0]!), 10_000)
    log(
      `${FLOOD} join requests from one stranger: heap ${mib(heapBefore)} → ${mib(heapAfter)} MiB ` +
        `(${mib(heapAfter - heapBefore)} MiB); at most ${maxListed} requests listed (cap ${MAX_JOIN_REQUESTS})`,
    )
    expect(heapAfter - heapBefore).toBeLessThan(8 * 2 ** 20) // stated bound: < 8 MiB for the whole flood
  }, 120_000)

  it('4. a stranger gets the same denial for a document the node holds and one it does not', async () => {
    const owner = await cluster.start('owner')
    const held = await cluster.createDoc(owner, 'held, not shared\n')
    const shared = await cluster.createDoc(owner, 'held and shared\n')
    await owner.node.workspace.shareOnLan(shared.docId, true)
    const absent = 'ab'.repeat(16)
    const eve = await ProtocolClient.connect(owner.node.port)
    clients.push(eve)
    await eve.greet('eve')
    const key = new Uint8Array(32).fill(9)
    for (const id of [held.docId, absent, shared.docId]) {
      eve.send({ type: 'doc-auth', docId: id, epoch: 0, proof: new Uint8Array(32), verified: false })
      eve.send(eve.proof(key, id, 0))
      eve.send({ type: 'sync-request', docId: id, versions: [{}, {}, {}, {}] })
      const origin = Buffer.from(eve.keyPair.publicKey).toString('hex')
      const signature = new Uint8Array(64)
      eve.send({ type: 'awareness', docId: id, origin, seq: 1, hops: 0, state: '{}', signature, sentTo: [] })
    }
    for (const id of [held.docId, absent]) eve.send({ type: 'join-request', docId: id, name: 'eve' })
    await until('answers', () => eve.received.filter((m) => m.type === 'doc-deny').length >= 8, 10_000)
    await sleep(300) // anything else on its way arrives now
    /** What eve received about `id`, with the ID itself blanked out. */
    const about = (id: string): string =>
      JSON.stringify(
        eve.received.filter((m) => 'docId' in m && m.docId === id).map((m) => ({ ...m, docId: '<id>' })),
      )
    expect(about(held.docId)).toBe(about(absent))
    const authDenials = eve.received.filter(
      (m): m is Extract<Message, { type: 'doc-deny' }> => m.type === 'doc-deny' && m.docId === shared.docId,
    )
    expect(authDenials).toHaveLength(2)
    expect(new Set(eve.received.map((m) => (m.type === 'doc-deny' ? m.code : m.type)))).not.toContain(
      'unknown-doc',
    )
    // And for the shared document (whose existence the LAN list already tells), the same denial too.
    expect(JSON.stringify(authDenials.map((m) => ({ ...m, docId: '<id>' })))).toBe(
      JSON.stringify(
        eve.received
          .filter((m) => m.type === 'doc-deny' && m.docId === absent)
          .slice(0, 2)
          .map((m) => ({ ...m, docId: '<id>' })),
      ),
    )
    log(`denials for a held and an absent document: ${about(absent)}`)
  }, 30_000)

  it('5. an editor floods replicas, claimed past its cap and made up: only the bound ones apply, the owner’s keystrokes still reach the peer at once', async () => {
    const owner = await cluster.start('owner')
    const peer = await cluster.start('peer')
    const claimed = 20_000
    const madeUp = 20_000
    const size = claimed + madeUp + 100
    const doc = await cluster.createDoc(owner, 'x'.repeat(size))
    const peerDoc = await cluster.join(owner, peer, doc.docId)
    const mallory = await memberClient(owner, doc, 'editor', 'mallory', [peer])
    const c = await mallory.connect(owner) // the owner only: what the peer gets, the owner relayed
    const before = new Set(Object.keys(doc.textVersion()))
    const sign = signerFor(mallory.keyPair)
    const base = doc.durable.allTextOps()
    // One delete by each replica, all in one batch; claims (counter 0) and seals (counter 1) for hers.
    const forge = new TextDoc('forge-table')
    forge.applyRemote(base)
    const start = forge.version()
    const claims: Seal[] = []
    const seals: Seal[] = []
    for (let i = 0; i < claimed + madeUp; i++) {
      const nonce = new Uint8Array(randomBytes(8))
      const claim =
        i < claimed ? makeSeal(doc.docId, mallory.keyPair.publicKey, nonce, 0, EMPTY_DIGEST, sign) : null
      const r = new TextDoc(claim?.replica ?? `made-up-${i}`)
      r.applyRemote(base)
      forge.applyRemote(r.localDelete(i, 1))
      if (!claim) continue
      claims.push(claim)
      seals.push(makeSeal(doc.docId, claim.device, nonce, 1, streamDigest(r, r.replica, 1)!, sign))
    }
    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed
    for (let i = 0; i < claims.length; i += MAX_SEALS_PER_BATCH)
      c.send(update(doc.docId, Channel.Seals, encodeSeals(claims.slice(i, i + MAX_SEALS_PER_BATCH))))
    c.send(update(doc.docId, Channel.Text, forge.changesSince(start)))
    for (let i = 0; i < seals.length; i += MAX_SEALS_PER_BATCH)
      c.send(update(doc.docId, Channel.Seals, encodeSeals(seals.slice(i, i + MAX_SEALS_PER_BATCH))))
    const bound = MAX_REPLICAS_PER_DEVICE
    await until('the owner applied the bound ones', () => doc.text.length === size - bound, 60_000)
    await until('the peer has them, relayed and sealed', () => peerDoc.text === doc.text, 60_000)
    for (const d of [doc, peerDoc]) {
      const added = Object.keys(d.textVersion()).filter((r) => !before.has(r))
      expect(added.length).toBe(bound)
      expect(added.filter((r) => r.startsWith('made-up-'))).toEqual([]) // none applied
    }
    // Once their records are on disk (the ops were shown first: deferred appends, storage README).
    await Promise.all([doc.durable.flush(), peerDoc.durable.flush()])
    collectGarbage()
    const heapAfter = process.memoryUsage().heapUsed
    // The owner's keystrokes, one by one, still reach the peer at once.
    const started = performance.now()
    for (let i = 0; i < 20; i++) await doc.insert(0, 'k')
    await until('the peer has the owner’s keystrokes', () => peerDoc.text.startsWith('k'.repeat(20)), 10_000)
    const ms = performance.now() - started
    expect(peerDoc.text).toBe(doc.text)
    expect(owner.node.workspace.session(peer.self)?.isAuthenticated(doc.docId)).toBe(true)
    // Both nodes run in this process: what they keep for 16,384 bound replicas and the held rest.
    expect(heapAfter - heapBefore).toBeLessThan(128 * 2 ** 20)
    log(
      `${claimed} claimed + ${madeUp} made-up replicas: ${bound} bound and applied on both, none made up; ` +
        `20 owner keystrokes reached the peer in ${ms.toFixed(0)} ms; heap of both nodes ${mib(heapBefore)} → ${mib(heapAfter)} MiB`,
    )
  }, 180_000)
})
