/**
 * One connection per pair of devices, decided the same way on both ends.
 *
 * Two devices often dial each other at once (both discovered each other, or both were told the other's
 * address), and a connection is also often dialed while an older one is still up. Rather than let each
 * side guess, the device with the smaller public key is the pair's arbiter, and right after the Noise
 * handshake the two exchange one control frame each, before any application frame:
 *
 *   the other device  → arbiter:  PROPOSE (handshake hash of the connection it currently uses with the
 *                                  arbiter, or none)
 *   arbiter           → other:    VERDICT (accept | reject)
 *
 * The arbiter rejects the new connection when both sides name the same live connection (a duplicate)
 * and accepts it otherwise, closing its own older one (it was stale on one side). The other device
 * proposes one connection at a time per arbiter, so every claim reflects the previous verdict, and it
 * announces a connection only after an accept. So neither side ever announces a connection that the
 * duplicate rule later closes, and both keep the same TCP connection. Whatever frames a side sends go on
 * an announced connection, never on a loser: nothing is lost to the de-duplication.
 *
 * The control frames also carry a transport version, so incompatible builds part with a clear reason.
 */

export const TRANSPORT_VERSION = 1
const MAGIC = [0x4d, 0x50] as const // "MP"
const PROPOSE = 1
const VERDICT = 2
const HASH_BYTES = 64

export type ControlFrame =
  | { readonly type: 'propose'; readonly live: Uint8Array | null }
  | { readonly type: 'verdict'; readonly accept: boolean }
  | { readonly type: 'invalid'; readonly reason: string }

export function encodeProposal(live: Uint8Array | null): Uint8Array {
  const frame = new Uint8Array(4 + (live?.length ?? 0))
  frame.set([...MAGIC, TRANSPORT_VERSION, PROPOSE])
  if (live !== null) frame.set(live, 4)
  return frame
}

export function encodeVerdict(accept: boolean): Uint8Array {
  return Uint8Array.from([...MAGIC, TRANSPORT_VERSION, VERDICT, accept ? 1 : 0])
}

export function decodeControl(frame: Uint8Array): ControlFrame {
  if (frame.length < 4 || frame[0] !== MAGIC[0] || frame[1] !== MAGIC[1]) {
    return { type: 'invalid', reason: 'the peer did not start with a Meshpad transport frame' }
  }
  if (frame[2] !== TRANSPORT_VERSION) {
    return {
      type: 'invalid',
      reason: `the peer speaks transport version ${frame[2]}, this build speaks ${TRANSPORT_VERSION}`,
    }
  }
  const body = frame.subarray(4)
  if (frame[3] === PROPOSE && (body.length === 0 || body.length === HASH_BYTES)) {
    return { type: 'propose', live: body.length === 0 ? null : Uint8Array.from(body) }
  }
  if (frame[3] === VERDICT && body.length === 1 && (body[0] === 0 || body[0] === 1)) {
    return { type: 'verdict', accept: body[0] === 1 }
  }
  return { type: 'invalid', reason: 'malformed transport control frame' }
}

export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => compareKeys(a, b) === 0

/** The arbiter of a pair is the device with the lexicographically smaller public key. */
export const isArbiter = (ownKey: Uint8Array, remoteKey: Uint8Array): boolean =>
  compareKeys(ownKey, remoteKey) < 0

/**
 * The arbiter's rule: keep the existing connection only if the other side names it as its live one;
 * any other claim means the existing one is stale on one side, and the new connection replaces it.
 */
export function keepExisting(existing: Uint8Array | null, claimed: Uint8Array | null): boolean {
  return existing !== null && claimed !== null && sameBytes(existing, claimed)
}
