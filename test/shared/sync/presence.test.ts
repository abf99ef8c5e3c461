/**
 * PresenceTable on an in-memory mesh of devices with real Ed25519 keys: relaying beyond direct links,
 * dedupe, loops, the hop limit, bounds, refused impersonation and prompt expiry. The same code runs
 * over TCP in test/integration/presence-relay.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { memberCrypto } from '../../../src/main/node/crypto'
import { fromHex } from '../../../src/shared/sync/hex'
import {
  MAX_PRESENCE_HOPS,
  ORIGIN_RATE,
  PEER_RATE,
  PRESENCE_TTL_MS,
  PresenceTable,
  presenceBytes,
  type SignedPresence,
} from '../../../src/shared/sync/presence'
import { testDevice, type TestDevice } from '../../support/devices'

const DOC = 'ab'.repeat(16)

interface Delivery {
  readonly from: Device
  readonly to: Device
  readonly run: () => void
}

/** Devices, their links and a clock; messages are queued and delivered in order by `flush`. */
class Mesh {
  readonly members = new Set<string>()
  readonly queue: Delivery[] = []
  now = 1_000_000
  private timers: { at: number; callback: () => void; live: boolean }[] = []
  delivered = 0

  /** Member devices, one per name. */
  devices<const N extends readonly string[]>(...names: N): { [K in keyof N]: Device } {
    return names.map((n) => this.device(n)) as { [K in keyof N]: Device }
  }

  device(name: string, member = true): Device {
    const d = new Device(this, name, testDevice())
    if (member) this.members.add(d.key)
    return d
  }

  link(a: Device, b: Device): void {
    a.links.add(b)
    b.links.add(a)
    a.table.peerReady(b)
    b.table.peerReady(a)
  }

  cut(a: Device, b: Device): void {
    a.links.delete(b)
    b.links.delete(a)
    // Whatever was on the wire between them is lost with the connection.
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!
      if ((q.from === a && q.to === b) || (q.from === b && q.to === a)) this.queue.splice(i, 1)
    }
    a.table.peerLeft(b)
    b.table.peerLeft(a)
  }

  /** Delivers everything queued, and what that sends, until quiet. */
  flush(limit = 10_000): void {
    while (this.queue.length > 0) {
      if (++this.delivered > limit) throw new Error('presence kept circulating: a loop')
      this.queue.shift()!.run()
    }
  }

  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.now + ms, callback, live: true }
    this.timers.push(timer)
    return () => {
      timer.live = false
    }
  }

  advance(ms: number): void {
    this.now += ms
    for (const t of this.timers.filter((t) => t.live && t.at <= this.now)) {
      t.live = false
      t.callback()
    }
    this.timers = this.timers.filter((t) => t.live)
  }
}

class Device {
  readonly key: string
  readonly links = new Set<Device>()
  readonly table: PresenceTable<Device>
  changes = 0
  sent = 0

  constructor(
    readonly mesh: Mesh,
    readonly name: string,
    readonly id: TestDevice,
  ) {
    this.key = id.key
    this.table = new PresenceTable<Device>({
      docId: DOC,
      self: this.key,
      peers: () => [...this.links],
      keyOf: (d) => d.key,
      send: (to, p, sentTo) => {
        this.sent++
        mesh.queue.push({ from: this, to, run: () => to.table.receive(this, p, sentTo) })
      },
      sendGone: (to, origin, seq) =>
        mesh.queue.push({ from: this, to, run: () => to.table.gone(this, origin, seq) }),
      isMember: (device) => mesh.members.has(device),
      verify: (origin, data, signature) => memberCrypto.verify(fromHex(origin), data, signature),
      sign: id.sign,
      now: () => mesh.now,
      setTimer: (callback, ms) => mesh.setTimer(callback, ms),
      changed: () => this.changes++,
      log: () => undefined,
    })
  }

  publish(state: unknown): void {
    this.table.publish(JSON.stringify(state))
  }

  stateOf(other: Device): unknown {
    return this.table.list().find((p) => p.device === other.key)?.state
  }
}

/** A presence signed by `signer` but claiming `origin`. */
function forged(signer: TestDevice, origin: string, seq: number, state: string): SignedPresence {
  return { origin, seq, hops: 0, state, signature: signer.sign(presenceBytes(DOC, origin, seq, state)) }
}

describe('presence through the mesh', () => {
  it('reaches people who are not directly connected, through a relay', () => {
    const mesh = new Mesh()
    const [alice, bob, carol] = mesh.devices('alice', 'bob', 'carol')
    mesh.link(alice, bob)
    mesh.link(alice, carol)
    bob.publish({ name: 'bob', at: 1 })
    carol.publish({ name: 'carol', at: 2 })
    mesh.flush()
    expect(carol.stateOf(bob)).toEqual({ name: 'bob', at: 1 })
    expect(bob.stateOf(carol)).toEqual({ name: 'carol', at: 2 })
    expect(alice.table.list()).toHaveLength(2)
  })

  it('applies a presence once however many paths bring it, and stops a cycle', () => {
    const mesh = new Mesh()
    const ring = Array.from({ length: 6 }, (_, i) => mesh.device(`d${i}`))
    for (let i = 0; i < ring.length; i++) mesh.link(ring[i]!, ring[(i + 1) % ring.length]!)
    mesh.link(ring[0]!, ring[3]!) // a chord: several paths to everyone
    mesh.flush()
    for (const d of ring) d.changes = 0
    const before = mesh.delivered
    ring[0]!.publish({ name: 'd0' })
    mesh.flush()
    // Everyone has it, each applied it once, and it crossed each link at most once each way.
    for (const d of ring.slice(1)) {
      expect(d.stateOf(ring[0]!)).toEqual({ name: 'd0' })
      expect(d.changes).toBe(1)
    }
    expect(mesh.delivered - before).toBeLessThanOrEqual(2 * 7)
    // The same message delivered again (a duplicate on the wire) changes nothing and goes nowhere.
    const again = mesh.delivered
    const copy = ring[0]!.table
    copy.peerReady(ring[1]!)
    mesh.flush()
    expect(mesh.delivered - again).toBe(1)
    expect(ring[1]!.changes).toBe(1)
  })

  it('passes a presence on through at most MAX_PRESENCE_HOPS relays', () => {
    const mesh = new Mesh()
    const line = Array.from({ length: MAX_PRESENCE_HOPS + 4 }, (_, i) => mesh.device(`d${i}`))
    for (let i = 1; i < line.length; i++) mesh.link(line[i - 1]!, line[i]!)
    line[0]!.publish({ name: 'far' })
    mesh.flush()
    const reached = line.filter((d) => d.stateOf(line[0]!) !== undefined).length
    expect(reached).toBe(MAX_PRESENCE_HOPS + 1) // the direct peer, then MAX_PRESENCE_HOPS relays
  })

  it('keeps the newest state: an older sequence number that arrives late is ignored', () => {
    const mesh = new Mesh()
    const [alice, bob] = mesh.devices('alice', 'bob')
    mesh.link(alice, bob)
    const old = forged(alice.id, alice.key, 5, '{"v":"old"}')
    const fresh = forged(alice.id, alice.key, 9, '{"v":"new"}')
    expect(bob.table.receive(alice, fresh, [])).toBeNull()
    expect(bob.table.receive(alice, old, [])).toBeNull()
    expect(bob.stateOf(alice)).toEqual({ v: 'new' })
  })

  it('refuses a presence that a member forges for another device, or changes on the way', () => {
    const mesh = new Mesh()
    const [alice, mallory, carol] = mesh.devices('alice', 'mallory', 'carol')
    mesh.link(alice, mallory)
    mesh.link(mallory, carol)
    // Mallory (a member) claims to relay Alice's cursor, signed with her own key.
    expect(
      carol.table.receive(mallory, forged(mallory.id, alice.key, Date.now(), '{"name":"alice"}'), []),
    ).toBe('bad signature')
    // She takes Alice's real presence and changes the state, or the sequence number.
    alice.publish({ name: 'alice', cursor: 1 })
    const real = mesh.queue.shift()!
    expect(real.to).toBe(mallory)
    let captured: SignedPresence | undefined
    const intercept = mallory.table
    const original = intercept.receive.bind(intercept)
    intercept.receive = (from, p, sentTo) => ((captured = p), original(from, p, sentTo))
    real.run()
    mesh.queue.length = 0
    expect(captured).toBeDefined()
    const p = captured!
    expect(carol.table.receive(mallory, { ...p, state: '{"name":"alice","cursor":999}' }, [])).toBe(
      'bad signature',
    )
    expect(carol.table.receive(mallory, { ...p, seq: p.seq + 1 }, [])).toBe('bad signature')
    expect(carol.stateOf(alice)).toBeUndefined()
    // A device that is not a member is never shown or relayed, however well it signs.
    const stranger = mesh.device('stranger', false)
    expect(carol.table.receive(mallory, forged(stranger.id, stranger.key, 1, '{}'), [])).toBe('not a member')
    // The genuine message, relayed as it is, is accepted.
    expect(carol.table.receive(mallory, { ...p, hops: 1 }, [])).toBeNull()
    expect(carol.stateOf(alice)).toEqual({ name: 'alice', cursor: 1 })
  })

  it('bounds what one peer can make it verify, and what one origin can make the mesh relay', () => {
    const mesh = new Mesh()
    const [alice, bob, carol] = mesh.devices('alice', 'bob', 'carol')
    mesh.link(alice, bob)
    mesh.link(bob, carol)
    mesh.flush()
    // A burst of forgeries from one peer, all at one instant: only the burst budget is even checked.
    for (let i = 0; i < PEER_RATE.burst * 3; i++)
      bob.table.receive(alice, forged(carol.id, alice.key, 10 + i, '{}'), [])
    expect(bob.table.refused.get('bad signature')).toBe(PEER_RATE.burst)
    expect(bob.table.refused.get('peer over its rate')).toBe(PEER_RATE.burst * 2)
    // An origin that publishes faster than it may: the excess is neither applied nor relayed.
    mesh.advance(10_000)
    const sentBefore = bob.sent
    for (let i = 0; i < ORIGIN_RATE.burst * 2; i++) alice.publish({ i })
    mesh.flush()
    expect(bob.sent - sentBefore).toBe(ORIGIN_RATE.burst)
    expect(carol.stateOf(alice)).toEqual({ i: ORIGIN_RATE.burst - 1 })
  })

  it('forgets a person at once when no path to them is left, and after the TTL otherwise', () => {
    const mesh = new Mesh()
    const [alice, bob, carol, dan] = mesh.devices('alice', 'bob', 'carol', 'dan')
    mesh.link(alice, bob)
    mesh.link(alice, carol)
    mesh.link(carol, dan)
    bob.publish({ name: 'bob' })
    mesh.flush()
    expect(dan.stateOf(bob)).toEqual({ name: 'bob' })
    // Bob's only link goes: Alice drops him and says so; Carol and Dan, two hops on, drop him too.
    mesh.cut(alice, bob)
    mesh.flush()
    for (const d of [alice, carol, dan]) expect(d.stateOf(bob)).toBeUndefined()
    // Back again, then silent: everyone forgets him once the TTL is over, with no event needed.
    mesh.link(alice, bob)
    bob.publish({ name: 'bob' })
    mesh.flush()
    expect(dan.stateOf(bob)).toEqual({ name: 'bob' })
    const changes = dan.changes
    mesh.advance(PRESENCE_TTL_MS + 10)
    expect(dan.table.list()).toEqual([])
    expect(dan.changes).toBe(changes + 1)
  })

  it('keeps a person reachable another way, and relearns one whose direct link went at the next refresh', () => {
    const mesh = new Mesh()
    const [alice, bob, carol] = mesh.devices('alice', 'bob', 'carol')
    mesh.link(alice, carol)
    mesh.link(bob, carol)
    mesh.link(alice, bob)
    bob.publish({ name: 'bob' })
    mesh.flush()
    // Carol reaches Bob directly: Alice's link to her going changes nothing for Bob's presence there.
    mesh.cut(alice, carol)
    mesh.flush()
    expect(carol.stateOf(bob)).toEqual({ name: 'bob' })
    // Alice's direct link to Bob goes while a longer path (through Carol) is back: she forgets him at
    // once (she cannot tell), and hears him again through Carol at his next refresh.
    mesh.link(alice, carol)
    mesh.cut(alice, bob)
    mesh.flush()
    expect(alice.stateOf(bob)).toBeUndefined()
    bob.publish({ name: 'bob', again: true })
    mesh.flush()
    expect(alice.stateOf(bob)).toEqual({ name: 'bob', again: true })
  })

  it('forgets a removed member, and a device that says it left', () => {
    const mesh = new Mesh()
    const [alice, bob, carol] = mesh.devices('alice', 'bob', 'carol')
    mesh.link(alice, bob)
    mesh.link(alice, carol)
    bob.publish({ name: 'bob' })
    carol.publish({ name: 'carol' })
    mesh.flush()
    carol.table.publish('null')
    mesh.flush()
    expect(bob.stateOf(carol)).toBeUndefined()
    mesh.members.delete(bob.key)
    alice.table.prune()
    expect(alice.table.list()).toEqual([])
  })
})
