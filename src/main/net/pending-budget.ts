/**
 * Who gets dropped when strangers crowd the pending (not yet authenticated) inbound sockets.
 *
 * Anyone can open TCP connections and then say nothing, or replay a captured first Noise message and
 * stall. Refusing newcomers once a global cap is full hands the node to whoever reopens fastest; an
 * oldest-first eviction hands it to whoever connects fastest (a legitimate handshake only survives
 * `cap / rate` seconds). So the transport keeps two budgets and never refuses a newcomer for being
 * late:
 *
 * - Per address group (an IPv4 address, or an IPv6 /64): at most `perAddress` pending sockets. One
 *   more from the same group drops that group's oldest: a host competes only with itself.
 * - Globally: at most `cap`. One more drops `pickVictim`'s choice among the others: a socket of the
 *   group holding the most pending sockets; among those, the one least far along (nothing received,
 *   then handshake started, then handshake done); among those, the oldest.
 *
 * So an honest peer, one socket from its own address that speaks at once, is dropped only if no group
 * holds more than one pending socket, none holds one less far along, and it is the oldest of those as
 * far along. With the default cap (256) above the number of addresses in an IPv4 /24 (or on loopback
 * as the tests use it: 127.0.0.2…250), an attacker cannot even reach that tie; and to push a peer out
 * from further along it has to complete real Noise handshakes one after the other (its own half-done
 * ones are dropped first), each costing it the Diffie-Hellman work the node does too.
 */
import { isIPv6 } from 'node:net'

export interface PendingCandidate {
  /** `addressGroup` of the remote address. */
  readonly group: string
  /** 0: nothing received; 1: handshake bytes received; 2: handshake done (pairing under way). */
  readonly progress: number
  /** Order of arrival: smaller is older. */
  readonly seq: number
}

/**
 * What one source can hold: the IPv4 address itself, or the /64 of an IPv6 one (a host is routinely
 * given a whole /64). IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!isIPv6(address)) return address
  const bare = address.split('%')[0]!.toLowerCase()
  const [head, tail] = bare.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/**
 * The socket to drop when the global cap is full (see the file header). `counts` holds how many
 * pending sockets each group has, the newcomer's included.
 */
export function pickVictim<T extends PendingCandidate>(
  candidates: Iterable<T>,
  counts: ReadonlyMap<string, number>,
): T | undefined {
  let best: T | undefined
  let bestCount = -1
  for (const c of candidates) {
    const count = counts.get(c.group) ?? 0
    if (
      best === undefined ||
      count > bestCount ||
      (count === bestCount &&
        (c.progress < best.progress || (c.progress === best.progress && c.seq < best.seq)))
    ) {
      best = c
      bestCount = count
    }
  }
  return best
}
