/**
 * Hostile input on the mDNS port: random bytes, mutated and truncated Meshpad packets, giant TXT
 * records, name-compression loops, out-of-range fields and a flood of fake instances, sent by a raw
 * socket to the loopback group. The node must not crash, must not list garbage, and must keep working.
 *
 * Reproduce a run: MESHPAD_FUZZ_SEED=<seed> npx vitest run test/main/discovery/malformed.test.ts
 */
import { createSocket, type Socket } from 'node:dgram'
import dnsPacket from 'dns-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { eventOf, freeUdpPort, Lan, LOOPBACK, sleep, waitFor } from './helpers'

const GROUP = '224.0.0.251'
const seed = Number(process.env['MESHPAD_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31))

/** mulberry32: small, seedable, good enough to vary packets reproducibly. */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

let lan: Lan
let raw: Socket | null = null

afterEach(async () => {
  raw?.close()
  raw = null
  await lan.destroyAll()
})

/** A socket that sends to the mDNS group on loopback only. */
async function rawSender(): Promise<(packet: Uint8Array) => Promise<void>> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  raw = socket
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve))
  socket.setMulticastInterface(LOOPBACK)
  socket.setMulticastLoopback(true)
  return (packet) => new Promise((resolve) => socket.send(packet, lan.port, GROUP, () => resolve()))
}

const meshpadResponse = (instance: string, port: number, txt: (string | Buffer)[]): Buffer =>
  dnsPacket.encode({
    type: 'response',
    answers: [
      { name: '_meshpad._tcp.local', type: 'PTR', ttl: 120, data: `${instance}._meshpad._tcp.local` },
      {
        name: `${instance}._meshpad._tcp.local`,
        type: 'SRV',
        ttl: 120,
        data: { port, target: `${instance}.local` },
      },
      { name: `${instance}._meshpad._tcp.local`, type: 'TXT', ttl: 120, data: txt },
      { name: `${instance}.local`, type: 'A', ttl: 120, data: '127.0.0.1' },
    ],
  })

/** Header + one question whose name is a compression pointer: to itself, forward, or in a cycle. */
function compressionLoops(): Buffer[] {
  const header = (qd: number, an: number): Buffer => {
    const h = Buffer.alloc(12)
    h.writeUInt16BE(0x8400, 2) // response, authoritative
    h.writeUInt16BE(qd, 4)
    h.writeUInt16BE(an, 6)
    return h
  }
  const tail = Buffer.from([0x00, 0x0c, 0x00, 0x01]) // type PTR, class IN
  return [
    Buffer.concat([header(1, 0), Buffer.from([0xc0, 0x0c]), tail]), // points at itself
    Buffer.concat([header(1, 0), Buffer.from([0xc0, 0x0e, 0xc0, 0x0c]), tail]), // forward, then back
    Buffer.concat([header(1, 0), Buffer.from([0x01, 0x61, 0xc0, 0x0c]), tail]), // label, then loop
    Buffer.concat([
      header(0, 1),
      Buffer.from([0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0, 0, 0, 120, 0, 2, 0xc0, 0x18]),
    ]),
    Buffer.concat([header(1, 0), Buffer.from([0xff, 0xff]), tail]), // pointer far past the end
    Buffer.concat([header(1, 0), Buffer.from([0x80, 0x01]), tail]), // reserved label type
  ]
}

/** Well-formed DNS whose Meshpad fields are out of range or unsafe: none of it may be listed. */
function badFields(): Buffer[] {
  const out: Buffer[] = []
  for (const port of [0, 65536, -1]) {
    try {
      out.push(meshpadResponse('meshpad-badport1', port, ['v=1']))
    } catch {
      // dns-packet refuses to encode some of these: the decoder never sees them either.
    }
  }
  const srv = (name: string, target: string): Buffer =>
    dnsPacket.encode({
      type: 'response',
      answers: [{ name, type: 'SRV', ttl: 120, data: { port: 4000, target } }],
    })
  out.push(srv('meshpad-badtarget._meshpad._tcp.local', 'not a host name!.local'))
  out.push(srv('meshpad-badtarget._meshpad._tcp.local', 'example.com'))
  out.push(srv('\u0001ctl._meshpad._tcp.local', 'x.local'))
  out.push(srv(`${'x'.repeat(64)}._meshpad._tcp.local`, 'x.local'))
  out.push(
    dnsPacket.encode({
      type: 'response',
      answers: [
        {
          name: 'meshpad-multicast._meshpad._tcp.local',
          type: 'SRV',
          ttl: 120,
          data: { port: 4000, target: 'm.local' },
        },
        { name: 'm.local', type: 'A', ttl: 120, data: '224.0.0.251' },
        { name: 'm.local', type: 'A', ttl: 120, data: '0.0.0.0' },
        { name: 'm.local', type: 'A', ttl: 120, data: '255.255.255.255' },
      ],
    }),
  )
  return out
}

/** One TXT of ~9 KB: long strings, hundreds of hints, bogus hints and binary junk. */
function giantTxt(random: () => number): Buffer[] {
  const strings: Buffer[] = []
  for (let i = 0; i < 600; i++)
    strings.push(
      Buffer.from(
        `h=${Math.floor(random() * 2 ** 48)
          .toString(16)
          .padStart(12, '0')}`,
      ),
    )
  for (let i = 0; i < 10; i++) strings.push(Buffer.alloc(255, 0x41 + i))
  strings.push(Buffer.from('h=NOT-A-HINT!'), Buffer.from([0, 1, 2, 255]))
  return [meshpadResponse('meshpad-gianttxt', 4999, strings)]
}

function mutate(packet: Buffer, random: () => number): Buffer {
  const copy = Buffer.from(packet)
  const roll = random()
  if (roll < 0.35) return copy.subarray(0, Math.floor(random() * copy.length)) // truncated
  const flips = 1 + Math.floor(random() * 8)
  for (let i = 0; i < flips; i++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256)
  return copy
}

describe('Discovery under malformed packets', () => {
  it(`survives 1,500+ random, mutated, looping and oversized packets and keeps working (seed ${seed})`, async () => {
    lan = new Lan(await freeUdpPort())
    const random = prng(seed)
    const target = lan.discovery({ maxPeers: 64 })
    const friend = lan.discovery()
    target.discovery.start({ port: 4101, hints: ['0123456789ab'] })
    friend.discovery.start({ port: 4102 })
    await waitFor('friend found', () => eventOf(target, 'found', friend.discovery.instance))
    const send = await rawSender()

    const valid = meshpadResponse('meshpad-template', 4321, ['v=1', 'h=0123456789ab'])
    const query = dnsPacket.encode({
      type: 'query',
      questions: [{ name: '_meshpad._tcp.local', type: 'PTR' }],
    })
    const packets: Buffer[] = [...compressionLoops(), ...badFields(), ...giantTxt(random)]
    for (let i = 0; i < 500; i++) {
      const length = Math.floor(random() * 1500)
      packets.push(Buffer.from(Array.from({ length }, () => Math.floor(random() * 256))))
    }
    for (let i = 0; i < 900; i++) packets.push(mutate(random() < 0.7 ? valid : query, random))
    let sent = 0
    for (const packet of packets) {
      await send(packet)
      if (++sent % 100 === 0) await sleep(1) // let the receivers keep up (UDP drops on a full buffer)
    }
    // 100 valid queries at once, answered only as far as the rate limit allows (10/s, 20 at once). Sent
    // once the flood is read (a starved receiver's socket buffer overflows, and the kernel would drop
    // them with it), and all before any is awaited (one by one, a loaded machine sends slower than the
    // limit refills).
    const settled = async (): Promise<void> => {
      const read = (): number => target.discovery.stats().packets + target.discovery.stats().malformed
      for (let last = -1; read() !== last;) {
        last = read()
        await sleep(200)
      }
    }
    await settled()
    await Promise.all(Array.from({ length: 100 }, () => send(query)))
    sent += 100
    expect(sent).toBeGreaterThanOrEqual(1500)
    await settled()

    const stats = target.discovery.stats()
    expect(stats.malformed, `seed ${seed}`).toBeGreaterThan(300)
    // The flood of valid queries was answered, but only up to the rate limit.
    expect(stats.throttled, `seed ${seed} ${JSON.stringify(stats)}`).toBeGreaterThan(0)
    // Nothing with a bad field is listed; what is listed is well-formed.
    for (const peer of target.discovery.peers()) {
      expect(peer.port, `seed ${seed}`).toBeGreaterThanOrEqual(1)
      expect(peer.port).toBeLessThanOrEqual(65535)
      expect(peer.addresses.length).toBeGreaterThan(0)
      for (const a of peer.addresses) {
        expect(a).toMatch(/^(\d{1,3}\.){3}\d{1,3}$/)
        expect(['224.0.0.251', '0.0.0.0', '255.255.255.255']).not.toContain(a)
      }
      for (const h of peer.hints) expect(h).toMatch(/^[0-9a-f]{12}$/)
      expect(peer.hints.length).toBeLessThanOrEqual(64)
      expect(peer.instance).not.toMatch(/badport|badtarget/)
      expect(peer.instance).not.toContain('\u0001')
    }
    // Undialable A records are dropped; the packet's source address stands in for them.
    const multicast = target.discovery.peers().find((p) => p.instance === 'meshpad-multicast')
    expect(multicast?.addresses, `seed ${seed}`).toEqual([LOOPBACK])
    const giant = target.discovery.peers().find((p) => p.instance === 'meshpad-gianttxt')
    expect(giant?.hints, `seed ${seed}`).toHaveLength(64)
    expect(target.discovery.peers().length).toBeLessThanOrEqual(64)

    // Still working: the friend was never lost, and a newcomer is found both ways.
    expect(eventOf(target, 'lost', friend.discovery.instance)).toBeUndefined()
    const late = lan.discovery()
    late.discovery.start({ port: 4103 })
    await waitFor('newcomer found', () => eventOf(target, 'found', late.discovery.instance), 5000)
    await waitFor('target found by newcomer', () => eventOf(late, 'found', target.discovery.instance), 5000)
  })

  it('a flood of fake instances fills the table up to its cap and no further', async () => {
    lan = new Lan(await freeUdpPort())
    const target = lan.discovery({ maxPeers: 32, tickMs: 100 })
    target.discovery.start({ port: 4101 })
    await waitFor('up', () => target.discovery.interfaces().length === 1)
    const send = await rawSender()
    for (let i = 0; i < 200; i++) {
      const packet = dnsPacket.encode({
        type: 'response',
        answers: [
          {
            name: `fake-${i}._meshpad._tcp.local`,
            type: 'SRV',
            ttl: 1,
            data: { port: 5000 + i, target: `fake-${i}.local` },
          },
        ],
      })
      await send(packet)
    }
    await waitFor('table full', () => target.discovery.stats().dropped > 0)
    expect(target.discovery.peers().length).toBe(32)
    // They expire (TTL 1 s), and then a real newcomer gets in.
    await waitFor('fakes expired', () => target.discovery.peers().length === 0, 3000)
    const late = lan.discovery()
    late.discovery.start({ port: 4103 })
    await waitFor('newcomer found', () => eventOf(target, 'found', late.discovery.instance), 5000)
  })
})
