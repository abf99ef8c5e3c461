/**
 * `npm run bench -- windows`: the middle of a keystroke's way, from Alice's page's WebSocket frame to
 * Bob's page's, split by the stamps each `meshpad serve` takes of its sockets (bench/serve-stamps.cjs)
 * into the time in Alice's node, the time in Bob's, and the sockets between (the rest).
 */

/** A socket's read or write in a `meshpad serve`: [time, 'r' | 'w', local port, remote port]. */
export type SocketStamp = [number, 'r' | 'w', number, number]

/** Per key, on the bench's clock: when Alice's page sent its frame, when Bob's page got its own, and the time between. */
export interface PageFrames {
  readonly sentAt: readonly number[]
  readonly arrivedAt: readonly number[]
  readonly nodes: readonly number[]
}

export interface NodesSplit {
  alice: number[]
  bob: number[]
  sockets: number[]
}

/** How far apart two processes' clocks may be (a page's is known to its round trip / 2, ~0.3 ms). */
const SLACK_MS = 0.5

/**
 * Each key's time in Alice's node (her page's frame read → written to Bob's node) and in Bob's (read →
 * written to his page), each on its own process's clock; the sockets have the rest of the time from
 * Alice's page's send to Bob's page's frame. `http`: each node's port for its page (the sockets on it
 * are the pages'; the others, the peers'). A stamp is looked for within `withinMs` of the one before
 * it; a key whose stamps are not all found is left out.
 */
export function nodesSplit(
  keys: PageFrames,
  http: readonly [alice: number, bob: number],
  stamps: readonly [alice: readonly SocketStamp[], bob: readonly SocketStamp[]],
  withinMs: number,
): NodesSplit {
  const [inAlice, inBob] = stamps
  const first = (list: readonly SocketStamp[], from: number, pick: (s: SocketStamp) => boolean) =>
    list.find((s) => s[0] >= from && s[0] < from + withinMs && pick(s))
  const page = (port: number) => (s: SocketStamp) => s[2] === port
  const out: NodesSplit = { alice: [], bob: [], sockets: [] }
  keys.sentAt.forEach((sent, i) => {
    const read = first(inAlice, sent - SLACK_MS, (s) => s[1] === 'r' && page(http[0])(s))
    const passed = read && first(inAlice, read[0], (s) => s[1] === 'w' && !page(http[0])(s))
    const got = passed && first(inBob, passed[0] - SLACK_MS, (s) => s[1] === 'r' && !page(http[1])(s))
    const shown = got && first(inBob, got[0], (s) => s[1] === 'w' && page(http[1])(s))
    if (!read || !passed || !got || !shown || shown[0] > keys.arrivedAt[i]! + SLACK_MS) return
    out.alice.push(passed[0] - read[0])
    out.bob.push(shown[0] - got[0])
    out.sockets.push(keys.nodes[i]! - (passed[0] - read[0]) - (shown[0] - got[0]))
  })
  return out
}
