/**
 * Which authenticated peers the workspace keeps when there are too many. Any key pair completes a
 * Noise handshake, so a device key alone proves nothing but itself; what matters is whether that key
 * is in the member list of a document this node holds. Each connected peer has a standing:
 *
 * - member: listed (and not removed) in an open document's member list, or a bootstrap owner;
 * - joining: a join is under way with it (it asked to join one of our documents and the owner has
 *   not answered yet, or we asked it);
 * - dialed: none of those, on a connection this node dialed (a device found on the LAN, or added by
 *   address): bounded where it is chosen (LAN discovery dials at most 32 such devices);
 * - stranger: none of those, on a connection it dialed (a device browsing what we share, or a
 *   throwaway key).
 *
 * Strangers have their own small budget (`maxStrangers`), so however many throwaway keys connect they
 * never take the places members need; a stranger beyond it takes the place of another stranger (the
 * one from the address holding the most strangers, then the one connected longest), so the budget
 * churns instead of locking out a device that comes to ask to join. The whole budget (`maxPeers`)
 * holds everyone: when it is full a newcomer takes a stranger's place, or else a dialed non-member's,
 * and a member may also take a joiner's. Only when it is full of members (or, for a non-member, of
 * members and joins) is a newcomer turned away.
 */

export type Standing = 'member' | 'joining' | 'dialed' | 'stranger'

export interface AdmittedPeer {
  readonly device: string
  /** The remote address (strangers from the address holding the most go first). */
  readonly address: string
  readonly standing: Standing
  /** Order of admission: smaller is older. */
  readonly since: number
}

export interface AdmissionLimits {
  readonly maxPeers: number
  readonly maxStrangers: number
}

export type Admission =
  | { readonly admit: true; readonly evict: readonly AdmittedPeer[] }
  | { readonly admit: false; readonly reason: string }

/** Whether a newcomer with `standing` is let in next to `peers` (open connections), and who makes room. */
export function admit(
  standing: Standing,
  address: string,
  peers: readonly AdmittedPeer[],
  limits: AdmissionLimits,
): Admission {
  const evict: AdmittedPeer[] = []
  const left = (s: Standing): AdmittedPeer[] => peers.filter((p) => p.standing === s && !evict.includes(p))
  if (standing === 'stranger') {
    let strangers = left('stranger')
    while (strangers.length >= limits.maxStrangers && strangers.length > 0) {
      evict.push(oldestOfBusiest(strangers, address))
      strangers = left('stranger')
    }
  }
  if (peers.length - evict.length >= limits.maxPeers) {
    const order: Standing[] =
      standing === 'member' ? ['stranger', 'dialed', 'joining'] : ['stranger', 'dialed']
    const pool = order.map(left).find((p) => p.length > 0)
    if (pool === undefined) {
      return {
        admit: false,
        reason: `too many peers (${limits.maxPeers}${standing === 'member' ? ' members' : ''})`,
      }
    }
    const sameKind = standing === 'stranger' && pool[0]!.standing === 'stranger'
    evict.push(oldestOfBusiest(pool, sameKind ? address : null))
  }
  return { admit: true, evict }
}

/**
 * Of `pool` (not empty): one from the address with the most entries (the newcomer's own address
 * counts it, when given), the one admitted first.
 */
function oldestOfBusiest(pool: readonly AdmittedPeer[], newcomer: string | null): AdmittedPeer {
  const counts = new Map<string, number>()
  for (const p of pool) counts.set(p.address, (counts.get(p.address) ?? 0) + 1)
  if (newcomer !== null) counts.set(newcomer, (counts.get(newcomer) ?? 0) + 1)
  let best = pool[0]!
  for (const p of pool) {
    const c = counts.get(p.address)!
    const b = counts.get(best.address)!
    if (c > b || (c === b && p.since < best.since)) best = p
  }
  return best
}
