/**
 * Discovery end to end on loopback: instances pinned to 127.0.0.1 on a private port find each other,
 * notice changes, goodbyes and silence, survive their own sockets failing, and clean up after
 * themselves. Nothing here sends on a real interface.
 */
import { createSocket, type Socket } from 'node:dgram'
import type { NetworkInterfaceInfo } from 'node:os'
import dnsPacket from 'dns-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { Discovery } from '../../../src/main/discovery'
import { activeHandles, eventOf, freeUdpPort, Lan, LOOPBACK, sleep, waitFor } from './helpers'

let lan: Lan
const sockets: Socket[] = []

afterEach(async () => {
  await lan.destroyAll()
  for (const s of sockets.splice(0)) s.close()
})

async function setup(): Promise<Lan> {
  lan = new Lan(await freeUdpPort())
  return lan
}

describe('Discovery on loopback', () => {
  it('two instances find each other with the right port, address, version and hints', async () => {
    await setup()
    const a = lan.discovery()
    const b = lan.discovery()
    a.discovery.start({ port: 4101, hints: ['0123456789ab'] })
    b.discovery.start({ port: 4102, hints: ['abcdefabcdef', '111111111111'] })
    const seenByA = await waitFor('A finds B', () => eventOf(a, 'found', b.discovery.instance))
    const seenByB = await waitFor('B finds A', () => eventOf(b, 'found', a.discovery.instance))
    expect(seenByA.peer).toMatchObject({
      port: 4102,
      addresses: [LOOPBACK],
      version: '1',
      hints: ['abcdefabcdef', '111111111111'],
    })
    expect(seenByB.peer).toMatchObject({ port: 4101, addresses: [LOOPBACK], hints: ['0123456789ab'] })
    expect(a.discovery.instance).toMatch(/^meshpad-[a-z2-7]{8}$/)
    expect(a.discovery.instance).not.toBe(b.discovery.instance)
    // Nobody lists itself.
    expect(a.discovery.peers().map((p) => p.instance)).toEqual([b.discovery.instance])
  })

  it('announces new hints to peers that already know it (updated)', async () => {
    await setup()
    const a = lan.discovery()
    const b = lan.discovery()
    a.discovery.start({ port: 4101 })
    b.discovery.start({ port: 4102, hints: ['aaaaaaaaaaaa'] })
    await waitFor('A finds B', () => eventOf(a, 'found', b.discovery.instance))
    b.discovery.setHints(['bbbbbbbbbbbb', 'cccccccccccc'])
    const updated = await waitFor('updated', () => eventOf(a, 'updated', b.discovery.instance))
    expect(updated.peer.hints).toEqual(['bbbbbbbbbbbb', 'cccccccccccc'])
    expect(() => b.discovery.setHints(['not a hint'])).toThrow(/12 lowercase hex/)
  })

  it('a goodbye makes the peer lost at once', async () => {
    await setup()
    const a = lan.discovery()
    const b = lan.discovery({ ttl: 120 })
    a.discovery.start({ port: 4101 })
    b.discovery.start({ port: 4102 })
    await waitFor('A finds B', () => eventOf(a, 'found', b.discovery.instance))
    const stopped = Date.now()
    await b.discovery.destroy()
    const lost = await waitFor('lost', () => eventOf(a, 'lost', b.discovery.instance), 2000)
    expect(lost.at - stopped).toBeLessThan(1000) // not the TTL: that is 120 s
    expect(a.discovery.peers()).toEqual([])
  })

  it('keeps a live peer past its TTL by asking again, and loses a silent one when the TTL runs out', async () => {
    await setup()
    // A asks on its own only once a minute: only the refreshes at 80 % and 90 % of B's TTL keep B.
    const a = lan.discovery({ tickMs: 100, queryMinMs: 60_000, queryMaxMs: 60_000 })
    const b = lan.discovery({ ttl: 2 })
    a.discovery.start({ port: 4101 })
    b.discovery.start({ port: 4102 })
    await waitFor('A finds B', () => eventOf(a, 'found', b.discovery.instance))
    await sleep(4500)
    expect(eventOf(a, 'lost', b.discovery.instance)).toBeUndefined()
    expect(a.discovery.peers()).toHaveLength(1)

    const lastSeen = a.discovery.peers()[0]!.lastSeen
    await b.discovery.destroy({ goodbye: false })
    const lost = await waitFor('lost by TTL', () => eventOf(a, 'lost', b.discovery.instance), 4000)
    expect(lost.at - lastSeen).toBeGreaterThanOrEqual(1900)
    expect(lost.at - lastSeen).toBeLessThan(3500)
  })

  it('a third instance that starts later finds the others and is found by them', async () => {
    await setup()
    const probes = [lan.discovery(), lan.discovery()]
    probes[0]!.discovery.start({ port: 4101 })
    probes[1]!.discovery.start({ port: 4102 })
    await waitFor('pair', () => probes.every((p) => p.discovery.peers().length === 1))
    const late = lan.discovery()
    late.discovery.start({ port: 4103 })
    await waitFor('all three', () => [...probes, late].every((p) => p.discovery.peers().length === 2))
    expect(
      late.discovery
        .peers()
        .map((p) => p.port)
        .sort(),
    ).toEqual([4101, 4102])
  })

  it('answers a legacy one-shot query by unicast, echoing its ID and question', async () => {
    await setup()
    const a = lan.discovery()
    a.discovery.start({ port: 4101, hints: ['0123456789ab'] })
    await waitFor('ready', () => a.discovery.interfaces().length === 1)
    const client = createSocket('udp4')
    sockets.push(client)
    await new Promise<void>((resolve) => client.bind(0, LOOPBACK, resolve))
    const reply = new Promise<dnsPacket.Packet>((resolve) =>
      client.on('message', (m) => resolve(dnsPacket.decode(m))),
    )
    const query = dnsPacket.encode({
      type: 'query',
      id: 4242,
      questions: [{ type: 'PTR', name: '_meshpad._tcp.local' }],
    })
    client.send(query, lan.port, LOOPBACK)
    const response = await reply
    expect(response.id).toBe(4242)
    expect(response.questions?.[0]).toMatchObject({ name: '_meshpad._tcp.local', type: 'PTR' })
    const answers = [...(response.answers ?? []), ...(response.additionals ?? [])]
    const srv = answers.find((r) => r.type === 'SRV')
    expect(srv).toMatchObject({ name: `${a.discovery.instance}._meshpad._tcp.local`, data: { port: 4101 } })
    expect(answers.every((r) => r.type === 'OPT' || (r.ttl ?? 0) <= 10)).toBe(true)
    const txt = answers.find((r) => r.type === 'TXT')
    const strings = (txt?.data as Buffer[]).map((b) => b.toString())
    expect(strings).toEqual(['v=1', 'h=0123456789ab'])
  })

  it('loses the peers of an interface that goes away, and finds them again when it returns', async () => {
    await setup()
    let up = true
    const lo: NetworkInterfaceInfo = {
      address: LOOPBACK,
      netmask: '255.0.0.0',
      family: 'IPv4',
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '127.0.0.1/8',
    }
    const a = lan.discovery({
      interface: undefined,
      interfaceFilter: (i) => i.address === LOOPBACK,
      networkInterfaces: () => (up ? { lo: [lo] } : {}),
      interfacePollMs: 100,
    })
    const down: string[] = []
    a.discovery.on('interface-down', (i) => down.push(i.name))
    const b = lan.discovery()
    a.discovery.start({ port: 4101 })
    b.discovery.start({ port: 4102 })
    await waitFor('A finds B', () => eventOf(a, 'found', b.discovery.instance))
    up = false
    await waitFor('lost with the interface', () => eventOf(a, 'lost', b.discovery.instance), 2000)
    expect(down).toEqual(['lo'])
    expect(a.discovery.interfaces()).toEqual([])
    a.events.length = 0
    up = true
    // The socket comes back, announces and asks at once: B is found again without waiting for B.
    const again = await waitFor('found again', () => eventOf(a, 'found', b.discovery.instance), 2000)
    expect(again.peer.port).toBe(4102)
    // And B, which never lost A, still knows it.
    expect(b.discovery.peers().map((p) => p.instance)).toEqual([a.discovery.instance])
  })

  it('a socket that cannot bind (EADDRINUSE, EADDRNOTAVAIL) is logged and retried, never thrown', async () => {
    await setup()
    const squatter = createSocket({ type: 'udp4', reuseAddr: false })
    sockets.push(squatter)
    await new Promise<void>((resolve) => squatter.bind(lan.port, '0.0.0.0', resolve))
    const a = lan.discovery({ interfacePollMs: 50 })
    a.discovery.start({ port: 4101 })
    await waitFor('EADDRINUSE logged', () => a.logs.some((l) => /EADDRINUSE/.test(l.message)))
    await waitFor('retried', () => a.logs.filter((l) => /EADDRINUSE/.test(l.message)).length >= 2, 3000)
    // Warned once; the retries log at debug level.
    expect(a.logs.filter((l) => l.level === 'warn' && /EADDRINUSE/.test(l.message))).toHaveLength(1)
    // Once the port is free, the retry succeeds and discovery works.
    await new Promise<void>((resolve) => squatter.close(() => resolve()))
    sockets.length = 0
    await waitFor('up after retry', () => a.discovery.interfaces().length === 1, 5000)

    // An address this machine does not have (TEST-NET-3): bind fails, nothing is sent anywhere.
    const c = lan.discovery({ bind: '203.0.113.77' })
    c.discovery.start({ port: 4103 })
    await waitFor('EADDRNOTAVAIL logged', () => c.logs.some((l) => /EADDRNOTAVAIL/.test(l.message)))
    expect(c.discovery.interfaces()).toEqual([])
  })

  it('a socket that cannot join the group on its interface is never used (it would send elsewhere)', async () => {
    await setup()
    // Binding 0.0.0.0 works, but the membership on an interface this machine lacks fails (ENODEV):
    // such a socket would multicast out of the default interface, so it must never become ready.
    const a = lan.discovery({ interface: '203.0.113.77', interfacePollMs: 50 })
    const up: string[] = []
    a.discovery.on('interface-up', (i) => up.push(i.address))
    a.discovery.start({ port: 4101 })
    await waitFor('retried', () => a.logs.filter((l) => /addMembership/.test(l.message)).length >= 2, 3000)
    expect(a.logs.filter((l) => l.level === 'warn')).toHaveLength(1)
    expect(up).toEqual([])
    expect(a.discovery.interfaces()).toEqual([])
    expect(a.discovery.stats().answered).toBe(0)
  })

  it('a listener that throws is logged and discovery goes on', async () => {
    await setup()
    const a = lan.discovery()
    a.discovery.on('found', () => {
      throw new Error('listener bug')
    })
    const b = lan.discovery()
    const c = lan.discovery()
    a.discovery.start({ port: 4101 })
    b.discovery.start({ port: 4102 })
    c.discovery.start({ port: 4103 })
    await waitFor('A finds both', () => a.discovery.peers().length === 2)
    expect(
      a.logs.some((l) => l.level === 'warn' && /listener failed: Error: listener bug/.test(l.message)),
    ).toBe(true)
  })

  it('destroy() is idempotent and leaves no socket or timer behind', async () => {
    await setup()
    await sleep(100) // sockets of earlier tests finish closing
    const before = activeHandles()
    const a = new Discovery({ interface: LOOPBACK, bind: '0.0.0.0', port: lan.port })
    a.start({ port: 4101 })
    await waitFor('ready', () => a.interfaces().length === 1)
    await sleep(50)
    expect(activeHandles().get('UDPWrap') ?? 0).toBeGreaterThan(before.get('UDPWrap') ?? 0)
    expect(activeHandles().get('Timeout') ?? 0).toBeGreaterThan(before.get('Timeout') ?? 0)
    const first = a.destroy()
    expect(a.destroy()).toBe(first)
    await first
    await a.destroy()
    // dgram's close callback runs before libuv has released the handle: give it a turn of the loop.
    await waitFor('handles released', () => {
      const now = activeHandles()
      return (
        (now.get('UDPWrap') ?? 0) <= (before.get('UDPWrap') ?? 0) &&
        (now.get('Timeout') ?? 0) <= (before.get('Timeout') ?? 0)
      )
    })
    expect(() => a.start({ port: 4101 })).toThrow(/destroyed/)
    a.setHints(['0123456789ab']) // a no-op once destroyed
    expect(a.peers()).toEqual([])
  })

  it('refuses bad options early with a specific message', () => {
    expect(() => new Discovery({ port: 0 })).toThrow(/port/)
    expect(() => new Discovery({ instance: 'two words' })).toThrow(/instance/)
    expect(() => new Discovery({ ttl: 0 })).toThrow(/ttl/)
    const d = new Discovery({ interface: LOOPBACK, port: 9 })
    expect(() => d.start({ port: 70000 })).toThrow(/port/)
  })
})
