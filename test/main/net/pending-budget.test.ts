import { describe, expect, it } from 'vitest'
import { addressGroup, pickVictim, type PendingCandidate } from '../../../src/main/net/pending-budget'

describe('addressGroup', () => {
  it('is the IPv4 address itself, also when IPv4-mapped', () => {
    expect(addressGroup('192.168.1.20')).toBe('192.168.1.20')
    expect(addressGroup('::ffff:192.168.1.20')).toBe('192.168.1.20')
    expect(addressGroup('::FFFF:10.0.0.1')).toBe('10.0.0.1')
  })

  it('is the /64 of an IPv6 address, however it is written', () => {
    const group = 'fe80:0:0:0::/64'
    expect(addressGroup('fe80::1')).toBe(group)
    expect(addressGroup('fe80::1%eth0')).toBe(group)
    expect(addressGroup('FE80:0000:0000:0000:abcd:ef01:2345:6789')).toBe(group)
    expect(addressGroup('2001:db8:1:2:3::4')).toBe('2001:db8:1:2::/64')
    expect(addressGroup('2001:db8::')).toBe('2001:db8:0:0::/64')
    expect(addressGroup('::1')).toBe('0:0:0:0::/64')
    expect(addressGroup('2001:db8:1:2::')).not.toBe(addressGroup('2001:db8:1:3::'))
  })

  it('keeps anything else as it is', () => {
    expect(addressGroup('')).toBe('')
    expect(addressGroup('localhost')).toBe('localhost')
  })
})

describe('pickVictim', () => {
  const c = (group: string, progress: number, seq: number): PendingCandidate => ({ group, progress, seq })
  const counts = (list: PendingCandidate[], newcomer: string): Map<string, number> => {
    const m = new Map<string, number>()
    for (const g of [...list.map((x) => x.group), newcomer]) m.set(g, (m.get(g) ?? 0) + 1)
    return m
  }

  it('takes from the address holding the most, even a socket further along or newer', () => {
    const list = [c('a', 0, 1), c('b', 2, 2), c('b', 2, 3)]
    expect(pickVictim(list, counts(list, 'z'))).toBe(list[1])
  })

  it('among equals by address, the least advanced, then the oldest', () => {
    const list = [c('a', 1, 1), c('b', 0, 5), c('c', 0, 3), c('d', 2, 0)]
    expect(pickVictim(list, counts(list, 'z'))).toBe(list[2])
    const advanced = [c('a', 2, 4), c('b', 1, 9), c('c', 2, 1)]
    expect(pickVictim(advanced, counts(advanced, 'z'))).toBe(advanced[1])
  })

  it('counts the newcomer with its address', () => {
    const list = [c('a', 0, 1), c('b', 0, 2)]
    // 'b' holds one, and the newcomer from 'b' makes two: b's socket goes, though a's is older.
    expect(pickVictim(list, counts(list, 'b'))).toBe(list[1])
  })

  it('an honest peer alone on its address outlives a flood from fewer addresses than the cap', () => {
    // 249 attacker addresses (127.0.0.2…250), 256 places: some address always holds two.
    const cap = 256
    const list: PendingCandidate[] = [c('honest', 0, 100_000)]
    for (let i = 0; list.length < cap; i++) list.push(c(`127.0.0.${2 + (i % 249)}`, 0, i))
    for (let seq = 1_000_000; seq < 1_010_000; seq++) {
      const group = `127.0.0.${2 + (seq % 249)}`
      const victim = pickVictim(list, counts(list, group))!
      expect(victim.group).not.toBe('honest')
      list.splice(list.indexOf(victim), 1)
      list.push(c(group, 0, seq))
    }
  })
})
