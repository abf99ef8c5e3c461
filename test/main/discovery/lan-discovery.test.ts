/**
 * Discovery wired into the node (src/main/node/lan-discovery.ts), on loopback: whole PeerNodes that
 * find each other and converge with no `add`, the dialing policy (members always, others up to a
 * cap), and hints that follow the documents and the clock.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, type NetworkInterfaceInfo } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PeerConnection } from '../../../src/shared/sync/peer-connection'
import { advertisedHints, HINT_WINDOW_MS, type DiscoveryOptions } from '../../../src/main/discovery'
import { Reconnector, type Dialer } from '../../../src/main/net/reconnect'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { LanDiscovery } from '../../../src/main/node/lan-discovery'
import { PeerNode } from '../../../src/main/node/peer-node'
import { cleanup, makeNode, type TestNode } from '../node/cluster'
import { freeUdpPort, Lan, LOOPBACK, sleep, waitFor } from './helpers'

const dirs: string[] = []
const nodes: PeerNode[] = []
const closers: (() => Promise<void> | void)[] = []
let testNodes: TestNode[] = []
let lan: Lan

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  await Promise.all(nodes.splice(0).map((n) => n.close()))
  await lan.destroyAll()
  await cleanup(testNodes)
  testNodes = []
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function startNode(
  name: string,
  discovery: DiscoveryOptions | false,
  dataDir?: string,
): Promise<PeerNode> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), `meshpad-lan-${name}-`))
  if (!dataDir) dirs.push(dir)
  const node = await PeerNode.start({ dataDir: dir, name, host: LOOPBACK, discovery })
  nodes.push(node)
  return node
}

/** A dialer that records what it is asked and never connects. */
class RecordingDialer implements Dialer {
  readonly dialed: string[] = []
  dial(host: string, port: number): Promise<PeerConnection> {
    this.dialed.push(`${host}:${port}`)
    return new Promise(() => undefined)
  }
}

describe('LAN discovery in the node', () => {
  it('two members on one LAN find each other and converge with no add, also after a restart', async () => {
    lan = new Lan(await freeUdpPort())
    const options: DiscoveryOptions = { interface: LOOPBACK, bind: '0.0.0.0', port: lan.port }
    const alice = await startNode('alice', options)
    const bobDir = mkdtempSync(join(tmpdir(), 'meshpad-lan-bob-'))
    dirs.push(bobDir)
    let bob = await startNode('bob', options, bobDir)
    const doc = await alice.workspace.createDoc('Notes')
    await doc.insert(0, 'hello')

    // Discovery connects every Meshpad peer, so the invite needs no address.
    await waitFor('connected', () => bob.workspace.session(alice.workspace.self)?.ready)
    const code = await alice.workspace.createInvite(doc.docId, 'editor', [])
    bob.workspace.redeemWith(bob.workspace.session(alice.workspace.self)!, decodeInvite(code))
    await waitFor('joined', () => bob.workspace.doc(doc.docId)?.text === 'hello')
    // Bob now advertises a hint of the document; Alice recognises him as a member.
    await waitFor('member', () => alice.lan!.peers().find((p) => p.peer.port === bob.port)?.member)
    await bob.workspace.doc(doc.docId)!.insert(5, ' world')
    await waitFor('converged', () => doc.text === 'hello world')

    // Apart: Bob quits (goodbye), Alice edits; Bob comes back on another port and catches up alone.
    const oldPort = bob.port
    await bob.close()
    nodes.splice(nodes.indexOf(bob), 1)
    await waitFor('bob lost', () => alice.lan!.peers().length === 0, 2000)
    expect(alice.dialer.status().some((t) => t.port === oldPort)).toBe(false)
    await doc.insert(0, '> ')
    bob = await startNode('bob', options, bobDir)
    expect(bob.port).not.toBe(oldPort)
    await waitFor('caught up', () => bob.workspace.doc(doc.docId)?.text === '> hello world', 10_000)
    expect(alice.lan!.peers().map((p) => p.member)).toEqual([true])
  })

  it('closes connections over an interface that goes down, and redials when it comes back', async () => {
    lan = new Lan(await freeUdpPort())
    let up = true
    const lo: NetworkInterfaceInfo = {
      address: LOOPBACK,
      netmask: '255.0.0.0',
      family: 'IPv4',
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '127.0.0.1/8',
    }
    const alice = await startNode('alice', {
      interface: undefined, // not pinned to the listening address: the injected interfaces decide
      bind: '0.0.0.0',
      port: lan.port,
      interfaceFilter: (i) => i.address === LOOPBACK,
      networkInterfaces: () => (up ? { lo: [lo] } : {}),
      interfacePollMs: 50,
    })
    // Bob only advertises (a bare Discovery for his port): every dial in this test is Alice's.
    const bob = await startNode('bob', false)
    lan.discovery().discovery.start({ port: bob.port })
    await waitFor('connected', () => alice.workspace.session(bob.workspace.self)?.ready)
    up = false // the cable is pulled: the TCP connection would stall, so it is closed now
    await waitFor('disconnected', () => alice.workspace.peers().length === 0, 2000)
    expect(alice.dialer.status()).toEqual([])
    await sleep(300)
    expect(alice.workspace.peers()).toEqual([])
    up = true
    await waitFor('reconnected', () => alice.workspace.session(bob.workspace.self)?.ready, 5000)
  })

  it('never stops dialing an address added by hand, even when discovery loses that peer', async () => {
    lan = new Lan(await freeUdpPort())
    const alice = await startNode('alice', { interface: LOOPBACK, bind: '0.0.0.0', port: lan.port })
    const bob = await startNode('bob', false)
    const advert = lan.discovery()
    advert.discovery.start({ port: bob.port })
    await waitFor('connected', () => alice.workspace.session(bob.workspace.self)?.ready)
    alice.add(LOOPBACK, bob.port)
    await advert.discovery.destroy() // goodbye: discovery loses Bob
    await waitFor('lost', () => alice.lan!.peers().length === 0, 2000)
    expect(alice.dialer.status().map((t) => `${t.host}:${t.port}`)).toEqual([`${LOOPBACK}:${bob.port}`])
  })

  it('dials members always and other Meshpad peers up to the cap; a lost one frees its slot', async () => {
    lan = new Lan(await freeUdpPort())
    const node = await makeNode('self')
    testNodes.push(node)
    const doc = await node.ws.createDoc('mine')
    const dialer = new RecordingDialer()
    const reconnector = new Reconnector(dialer, { log: () => undefined })
    closers.push(() => reconnector.close())
    const self = new LanDiscovery({
      workspace: node.ws,
      dialer: reconnector,
      isManual: () => false,
      discovery: { interface: LOOPBACK, bind: '0.0.0.0', port: lan.port },
      maxDials: 2,
      log: () => undefined,
    })
    closers.push(() => self.close())
    self.start(4000)
    const strangers = [5001, 5002, 5003].map((port) => {
      const probe = lan.discovery()
      probe.discovery.start({ port })
      return { probe, port, target: `127.0.0.1:${port}` }
    })
    await waitFor('three strangers', () => self.peers().length === 3)
    await waitFor('two dialed', () => dialer.dialed.length === 2)
    const member = lan.discovery()
    member.discovery.start({ port: 5100, hints: advertisedHints([doc.keyFor(doc.epoch)!], Date.now()) })
    await waitFor('member dialed', () => dialer.dialed.includes('127.0.0.1:5100'))
    expect(self.peers().find((p) => p.peer.port === 5100)).toMatchObject({ member: true, dialed: true })
    expect(self.peers().filter((p) => p.dialed)).toHaveLength(3)

    // A dialed stranger leaves: it is no longer wanted, and the one the cap kept out is dialed.
    const gone = strangers.find((s) => dialer.dialed.includes(s.target))!
    const waiting = strangers.find((s) => !dialer.dialed.includes(s.target))!
    await gone.probe.discovery.destroy()
    await waitFor('slot refilled', () => dialer.dialed.includes(waiting.target))
    expect(reconnector.status().some((t) => t.port === gone.port)).toBe(false)
    // Peers of another protocol version are never dialed.
    expect(self.peers().every((p) => p.peer.version === '1')).toBe(true)
  })

  it('hints follow the clock across a window boundary and still match a peer whose clock is ahead', async () => {
    lan = new Lan(await freeUdpPort())
    const node = await makeNode('self')
    testNodes.push(node)
    const doc = await node.ws.createDoc('mine')
    const key = doc.keyFor(doc.epoch)!
    const boundary = Math.ceil(Date.now() / HINT_WINDOW_MS) * HINT_WINDOW_MS
    let now = boundary - 1000
    const dialer = new RecordingDialer()
    const reconnector = new Reconnector(dialer, { log: () => undefined })
    closers.push(() => reconnector.close())
    const self = new LanDiscovery({
      workspace: node.ws,
      dialer: reconnector,
      isManual: () => false,
      discovery: { interface: LOOPBACK, bind: '0.0.0.0', port: lan.port },
      now: () => now,
      log: () => undefined,
    })
    closers.push(() => self.close())
    self.start(4000)
    const before = [...self.discovery.advertisedHints()]
    expect(before).toEqual(advertisedHints([key], now))

    // A member whose clock is 2 s ahead, already in the next window, is recognised.
    const ahead = lan.discovery()
    ahead.discovery.start({ port: 5100, hints: advertisedHints([key], boundary + 1000) })
    await waitFor('ahead is a member', () => self.peers().find((p) => p.peer.port === 5100)?.member)

    // Our clock crosses the boundary: the hints rotate and listeners get the new ones.
    const watcher = lan.discovery()
    watcher.discovery.start({ port: 5200 })
    await waitFor('watcher sees us', () => watcher.discovery.peers().find((p) => p.port === 4000))
    now = boundary + 1000
    self.refreshHints()
    const after = self.discovery.advertisedHints()
    expect(after).toEqual(advertisedHints([key], now))
    expect(after).not.toEqual(before)
    await waitFor('rotated hints seen', () =>
      watcher.events.find(
        (e) => e.type === 'updated' && e.peer.port === 4000 && e.peer.hints.includes(after[0]!),
      ),
    )
    // Half an hour on, the old hints mean nothing.
    now += 3 * HINT_WINDOW_MS
    self.refreshHints()
    expect(self.isMember({ ...self.peers()[0]!.peer, hints: before, version: '1' })).toBe(false)
  })
})
