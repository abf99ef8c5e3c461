/**
 * The peer table and the packet reader, with a hand-driven clock: what makes a peer visible, which
 * addresses it is dialed at, how each kind of record expires, when it is asked about again, and what
 * a query is answered with.
 */
import { describe, expect, it } from 'vitest'
import type { ObservedRecord } from '../../../src/main/discovery/packets'
import { readQuery, readResponse } from '../../../src/main/discovery/packets'
import { PeerTable } from '../../../src/main/discovery/peer-table'
import { answerQuery, announcement, type OwnService } from '../../../src/main/discovery/records'

const I = 'meshpad-aaaaaaaa'
const ptr = (instance = I, ttl = 120): ObservedRecord => ({ kind: 'ptr', instance, ttl })
const srv = (port = 4000, ttl = 120, instance = I): ObservedRecord => ({
  kind: 'srv',
  instance,
  port,
  target: `${instance}.local`,
  ttl,
})
const txt = (hints: string[], ttl = 120): ObservedRecord => ({
  kind: 'txt',
  instance: I,
  txt: { version: '1', hints },
  ttl,
})
const a = (address: string, ttl = 120, host = `${I}.local`): ObservedRecord => ({
  kind: 'a',
  host,
  address,
  ttl,
})

function table(maxPeers = 256) {
  let now = 1_000_000
  const t = new PeerTable({
    self: 'meshpad-self0000',
    maxPeers,
    now: () => now,
    isLocal: (address) => address.startsWith('10.1.'),
  })
  return { t, advance: (ms: number) => (now += ms), now: () => now }
}

describe('PeerTable', () => {
  it('shows a peer once its SRV is known; a PTR alone is asked about, once a second', () => {
    const { t, advance } = table()
    expect(t.apply([ptr()], '10.1.0.5', 'eth0')).toEqual([])
    expect(t.peers()).toEqual([])
    expect(t.due()).toEqual([I])
    expect(t.due()).toEqual([])
    advance(1000)
    expect(t.due()).toEqual([I])
    const changes = t.apply([srv(4000), a('10.1.0.5')], '10.1.0.5', 'eth0')
    expect(changes.map((c) => c.type)).toEqual(['found'])
    expect(changes[0]!.peer).toMatchObject({ instance: I, port: 4000, addresses: ['10.1.0.5'], hints: [] })
  })

  it('an A record alone adds an address but does not change where the peer was seen', () => {
    const { t } = table()
    t.apply([srv(), a('10.1.0.5')], '10.1.0.5', 'eth0')
    const changes = t.apply([a('10.1.0.66')], '10.1.0.66', 'wlan0')
    expect(changes.map((c) => c.peer.addresses)).toEqual([['10.1.0.5', '10.1.0.66']])
    // Seen on eth0 only: dropping wlan0 does not lose it.
    expect(t.dropInterface('wlan0')).toEqual([])
  })

  it('ignores its own instance, whatever the case', () => {
    const { t } = table()
    expect(t.apply([srv(4000, 120, 'MESHPAD-SELF0000')], '10.1.0.5', 'eth0')).toEqual([])
    expect(t.size).toBe(0)
  })

  it('orders addresses: our subnets first, then the rest, stable; loopback only from loopback', () => {
    const { t } = table()
    t.apply([srv(), a('192.168.9.9'), a('10.1.0.7'), a('127.0.0.1'), a('10.1.0.5')], '10.1.0.5', 'eth0')
    expect(t.peers()[0]!.addresses).toEqual(['10.1.0.7', '10.1.0.5', '192.168.9.9'])
    // The same peer answering from its other interface does not reorder them (no redial churn).
    expect(t.apply([srv(), a('10.1.0.5')], '192.168.9.9', 'wlan0')).toEqual([])
    // An SRV with no usable A: the packet's source stands in.
    const other = table()
    other.t.apply([srv(), a('127.0.0.1'), a('0.0.0.0')], '10.1.0.9', 'eth0')
    expect(other.t.peers()[0]!.addresses).toEqual(['10.1.0.9'])
    // From loopback, a loopback address is fine (peers on one machine).
    const local = table()
    local.t.apply([srv(), a('127.0.0.1')], '127.0.0.1', 'lo')
    expect(local.t.peers()[0]!.addresses).toEqual(['127.0.0.1'])
  })

  it('reports changes of port, addresses and hints as updated, and nothing when nothing changed', () => {
    const { t } = table()
    t.apply([srv(4000), txt(['aaaaaaaaaaaa'])], '10.1.0.5', 'eth0')
    expect(t.apply([srv(4000), txt(['aaaaaaaaaaaa'])], '10.1.0.5', 'eth0')).toEqual([])
    const changed = t.apply([txt(['bbbbbbbbbbbb'])], '10.1.0.5', 'eth0')
    expect(changed.map((c) => [c.type, c.peer.hints])).toEqual([['updated', ['bbbbbbbbbbbb']]])
    expect(t.apply([srv(4001)], '10.1.0.5', 'eth0').map((c) => c.peer.port)).toEqual([4001])
  })

  it('expires each record with its own TTL: TXT drops the hints, the SRV drops the peer', () => {
    const { t, advance } = table()
    t.apply([srv(4000, 10), txt(['aaaaaaaaaaaa'], 5), a('10.1.0.7', 3)], '10.1.0.5', 'eth0')
    expect(t.peers()[0]!.addresses).toEqual(['10.1.0.7'])
    advance(3000)
    expect(t.expire().map((c) => [c.type, c.peer.addresses])).toEqual([['updated', ['10.1.0.5']]])
    advance(2000)
    expect(t.expire().map((c) => [c.type, c.peer.hints])).toEqual([['updated', []]])
    advance(4999)
    expect(t.expire()).toEqual([])
    advance(1)
    expect(t.expire().map((c) => c.type)).toEqual(['lost'])
    expect(t.size).toBe(0)
  })

  it('asks about a peer again at 80 % and 90 % of its TTL, once each, and again after a refresh', () => {
    const { t, advance } = table()
    t.apply([srv(4000, 10)], '10.1.0.5', 'eth0')
    advance(7999)
    expect(t.due()).toEqual([])
    advance(1)
    expect(t.due()).toEqual([I])
    expect(t.due()).toEqual([])
    advance(1000)
    expect(t.due()).toEqual([I])
    advance(500)
    expect(t.due()).toEqual([])
    t.apply([srv(4000, 10)], '10.1.0.5', 'eth0') // the answer came: the TTL starts over
    advance(8000)
    expect(t.due()).toEqual([I])
    expect(t.expire()).toEqual([])
  })

  it('honours goodbyes: TTL 0 on the PTR or SRV loses the peer, on the TXT only its hints', () => {
    const { t } = table()
    t.apply([srv(), txt(['aaaaaaaaaaaa'])], '10.1.0.5', 'eth0')
    expect(
      t.apply([txt(['aaaaaaaaaaaa'], 0)], '10.1.0.5', 'eth0').map((c) => [c.type, c.peer.hints]),
    ).toEqual([['updated', []]])
    expect(t.apply([ptr(I, 0)], '10.1.0.5', 'eth0').map((c) => c.type)).toEqual(['lost'])
    t.apply([srv()], '10.1.0.5', 'eth0')
    expect(t.apply([srv(4000, 0)], '10.1.0.5', 'eth0').map((c) => c.type)).toEqual(['lost'])
    // A goodbye for an unknown instance is nothing.
    expect(t.apply([ptr('meshpad-unknown0', 0)], '10.1.0.5', 'eth0')).toEqual([])
  })

  it('loses a peer when the last interface it was seen on goes away', () => {
    const { t } = table()
    t.apply([srv()], '10.1.0.5', 'eth0')
    t.apply([srv()], '10.1.0.5', 'wlan0')
    expect(t.dropInterface('eth0')).toEqual([])
    expect(t.dropInterface('wlan0').map((c) => c.type)).toEqual(['lost'])
  })

  it('is capped: instances beyond maxPeers are counted and ignored', () => {
    const { t } = table(3)
    for (let i = 0; i < 5; i++) t.apply([srv(4000 + i, 120, `peer-${i}`)], '10.1.0.5', 'eth0')
    expect(t.peers().map((p) => p.instance)).toEqual(['peer-0', 'peer-1', 'peer-2'])
    expect(t.dropped).toBe(2)
  })
})

describe('reading packets and answering queries', () => {
  const service: OwnService = {
    instance: 'meshpad-selfself',
    port: 4100,
    txt: [Buffer.from('v=1')],
    ttl: 120,
  }

  it('reads only well-formed Meshpad records out of a response', () => {
    const records = readResponse({
      answers: [
        { name: '_meshpad._tcp.local', type: 'PTR', class: 'IN', ttl: 120, data: `${I}._meshpad._tcp.local` },
        { name: '_other._tcp.local', type: 'PTR', class: 'IN', ttl: 120, data: `x._other._tcp.local` },
        {
          name: `${I}._meshpad._tcp.local`,
          type: 'SRV',
          class: 'IN',
          ttl: 99_999,
          data: { port: 4000, target: `${I}.local` },
        },
        {
          name: `${I}._meshpad._tcp.local`,
          type: 'SRV',
          class: 'CH',
          ttl: 120,
          data: { port: 4000, target: `${I}.local` },
        },
        {
          name: `${I}._meshpad._tcp.local`,
          type: 'SRV',
          class: 'IN',
          ttl: -1,
          data: { port: 4000, target: `${I}.local` },
        },
        { name: `${I}.local`, type: 'A', class: 'IN', ttl: 120, data: '10.1.0.5' },
        { name: `${I}.local`, type: 'A', class: 'IN', ttl: 120, data: '10.1.0.256' },
        null,
        'junk',
      ],
      additionals: 'not an array',
    })
    expect(records).toEqual([
      { kind: 'ptr', instance: I, ttl: 120 },
      { kind: 'srv', instance: I, port: 4000, target: `${I}.local`, ttl: 4500 },
      { kind: 'a', host: `${I}.local`, address: '10.1.0.5', ttl: 120 },
    ])
    expect(readResponse(undefined)).toEqual([])
  })

  it('answers the service PTR with SRV, TXT and A as additionals, unless the querier already knows it', () => {
    const q = readQuery({ id: 0, questions: [{ name: '_MESHPAD._tcp.local', type: 'PTR', class: 'IN' }] })
    const answer = answerQuery(q, service, '10.1.0.1')
    expect(answer?.answers.map((r) => r.type)).toEqual(['PTR'])
    expect(answer?.additionals.map((r) => r.type)).toEqual(['SRV', 'TXT', 'A'])
    expect(answer?.additionals.find((r) => r.type === 'A')?.data).toBe('10.1.0.1')
    // Known-answer suppression (RFC 6762 §7.1): a PTR with at least half its TTL left is not repeated.
    const known = (ttl: number) =>
      readQuery({
        questions: [{ name: '_meshpad._tcp.local', type: 'PTR', class: 'IN' }],
        answers: [
          {
            name: '_meshpad._tcp.local',
            type: 'PTR',
            class: 'IN',
            ttl,
            data: 'meshpad-selfself._meshpad._tcp.local',
          },
        ],
      })
    expect(answerQuery(known(100), service, '10.1.0.1')).toBeNull()
    expect(answerQuery(known(30), service, '10.1.0.1')?.answers.map((r) => r.type)).toEqual(['PTR'])
  })

  it('answers SRV, TXT and A questions about itself (unicast-response bit too), and nothing else', () => {
    const ask = (name: string, type: string, klass = 'IN') =>
      answerQuery(readQuery({ questions: [{ name, type, class: klass }] }), service, '10.1.0.1')
    expect(ask('meshpad-selfself._meshpad._tcp.local', 'SRV')?.answers.map((r) => r.type)).toEqual(['SRV'])
    expect(
      ask('meshpad-selfself._meshpad._tcp.local', 'ANY', 'UNKNOWN_32769')?.answers.map((r) => r.type),
    ).toEqual(['SRV', 'TXT'])
    expect(ask('meshpad-selfself.local', 'A')?.answers.map((r) => r.data)).toEqual(['10.1.0.1'])
    expect(ask('_services._dns-sd._udp.local', 'PTR')?.answers.map((r) => r.data)).toEqual([
      '_meshpad._tcp.local',
    ])
    expect(ask('meshpad-someone._meshpad._tcp.local', 'SRV')).toBeNull()
    expect(ask('meshpad-selfself.local', 'AAAA')).toBeNull()
    expect(ask('meshpad-selfself.local', 'A', 'CH')).toBeNull()
  })

  it('says goodbye with every record at TTL 0', () => {
    const bye = announcement(service, '10.1.0.1', true)
    expect(bye.map((r) => [r.type, r.ttl])).toEqual([
      ['PTR', 0],
      ['SRV', 0],
      ['TXT', 0],
      ['A', 0],
    ])
  })
})
