import { describe, expect, it } from 'vitest'
import { admit, type AdmittedPeer, type Standing } from '../../../src/main/node/peer-admission'

const limits = { maxPeers: 8, maxStrangers: 3 }
let next = 0
const peer = (standing: Standing, address = `10.0.0.${next % 200}`): AdmittedPeer => ({
  device: `d${next}`,
  address,
  standing,
  since: next++,
})

describe('admit', () => {
  it('lets anyone in while there is room', () => {
    const peers = [peer('member'), peer('stranger')]
    expect(admit('stranger', '10.1.1.1', peers, limits)).toEqual({ admit: true, evict: [] })
    expect(admit('member', '10.1.1.1', peers, limits)).toEqual({ admit: true, evict: [] })
  })

  it('a stranger beyond the strangers’ budget takes the place of the oldest from the busiest address', () => {
    const s = [peer('stranger', 'x'), peer('stranger', 'y'), peer('stranger', 'y')]
    const peers = [peer('member'), ...s]
    expect(admit('stranger', 'z', peers, limits)).toEqual({ admit: true, evict: [s[1]] })
    // From an address already holding one, that address is the busiest.
    expect(admit('stranger', 'x', [peer('member'), s[0]!, s[1]!, peer('stranger', 'w')], limits)).toEqual({
      admit: true,
      evict: [s[0]],
    })
  })

  it('strangers past the budget (a join that ended) all make room', () => {
    const peers = [peer('stranger'), peer('stranger'), peer('stranger'), peer('stranger')]
    const verdict = admit('stranger', 'q', peers, limits)
    expect(verdict).toEqual({ admit: true, evict: [peers[0], peers[1]] })
  })

  it('members and joins are not strangers: they never count against the strangers’ budget', () => {
    const peers = [peer('stranger'), peer('stranger'), peer('stranger'), peer('joining')]
    expect(admit('member', 'q', peers, limits)).toEqual({ admit: true, evict: [] })
    expect(admit('joining', 'q', peers, limits)).toEqual({ admit: true, evict: [] })
  })

  it('a member always gets in while anyone but members holds a place', () => {
    const members = Array.from({ length: 5 }, () => peer('member'))
    const full = [...members, peer('joining'), peer('stranger'), peer('joining')]
    expect(admit('member', 'q', full, limits)).toEqual({ admit: true, evict: [full[6]] })
    const noStrangers = [...members, peer('joining'), peer('joining'), peer('joining')]
    expect(admit('member', 'q', noStrangers, limits)).toEqual({ admit: true, evict: [noStrangers[5]] })
    // A join under way takes only a stranger's place; a stranger, another stranger's.
    expect(admit('joining', 'q', noStrangers, limits)).toMatchObject({ admit: false })
    expect(admit('stranger', 'q', noStrangers, limits)).toMatchObject({ admit: false })
    expect(admit('joining', 'q', full, limits)).toEqual({ admit: true, evict: [full[6]] })
    const allMembers = Array.from({ length: 8 }, () => peer('member'))
    expect(admit('member', 'q', allMembers, limits)).toEqual({
      admit: false,
      reason: 'too many peers (8 members)',
    })
  })

  it('devices this node dialed are not in the strangers’ budget, and make room only after strangers', () => {
    const dialed = [peer('dialed'), peer('dialed'), peer('dialed'), peer('dialed')]
    expect(admit('stranger', 'q', dialed, limits)).toEqual({ admit: true, evict: [] })
    const full = [...dialed, peer('member'), peer('member'), peer('stranger'), peer('joining')]
    expect(admit('dialed', 'q', full, limits)).toEqual({ admit: true, evict: [full[6]] })
    const noStrangers = [...dialed, peer('member'), peer('member'), peer('joining'), peer('member')]
    expect(admit('member', 'q', noStrangers, limits)).toEqual({ admit: true, evict: [dialed[0]] })
    expect(admit('joining', 'q', noStrangers, limits)).toEqual({ admit: true, evict: [dialed[0]] })
  })

  it('255 throwaway keys never hold more than the strangers’ budget, and a member gets in', () => {
    const big = { maxPeers: 256, maxStrangers: 32 }
    let peers: AdmittedPeer[] = [peer('member')]
    for (let i = 0; i < 255; i++) {
      const verdict = admit('stranger', `127.0.0.${2 + (i % 249)}`, peers, big)
      expect(verdict.admit).toBe(true)
      if (!verdict.admit) return
      peers = peers.filter((p) => !verdict.evict.includes(p))
      peers.push(peer('stranger', `127.0.0.${2 + (i % 249)}`))
      expect(peers.filter((p) => p.standing === 'stranger').length).toBeLessThanOrEqual(32)
    }
    expect(admit('member', '127.0.0.1', peers, big)).toEqual({ admit: true, evict: [] })
  })
})
