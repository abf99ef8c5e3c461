/**
 * Presence through the mesh: who is in a document and where their cursor is, for every member that
 * edits reach, not only the devices connected directly (docs/PROTOCOL.md, "Presence").
 *
 * A presence is about one device, its _origin_, and signed by it (Ed25519, the device key its Noise
 * handshakes prove), over the document ID, the origin, a per-origin sequence number and the state. So
 * it is relayed as it is, like a member op: a relay adds nothing but a hop, and cannot change or invent
 * another device's presence. Each node keeps the newest presence per origin:
 *
 * - dedupe and loops: a presence is news only if its sequence number is above the highest seen from
 *   that origin; only news is applied and passed on, to the authenticated peers not already listed as
 *   having it (`sentTo`, as updates do), and only within MAX_PRESENCE_HOPS relays;
 * - trust: only a member of the document is shown or relayed, only with a signature that verifies;
 *   the state is parsed only then;
 * - bounds: per peer, a budget of messages per second (what it can make this node verify); per
 *   origin, a budget of new presences per second (what one device can make the mesh relay); at most
 *   MAX_PRESENT people per document; the JSON is size-capped by the decoder;
 * - expiry: a presence lasts PRESENCE_TTL_MS unless a newer one comes (origins repeat theirs every
 *   PRESENCE_REFRESH_MS). Each presence remembers the peers that delivered its current version (its
 *   paths); when the last of them disconnects, the person is dropped at once and the peers are told
 *   (`awareness-gone`), so they drop their path through this node. A line or a tree of peers forgets
 *   a person as soon as its link to them goes; in a cycle the peers may hold each other's path until
 *   the TTL.
 *
 * Synchronous, with no I/O: the network, the clock, the timer that wakes it when the next presence
 * expires, signing and verification are all injected.
 */
import { concatBytes, fromHex, utf8 } from './hex'
import { MAX_SENT_TO, peerTag } from './messages'

/** A presence is forgotten this long after its newest version arrived. */
export const PRESENCE_TTL_MS = 10_000
/** How often an origin repeats its presence (well within the TTL, so a lost one costs nothing). */
export const PRESENCE_REFRESH_MS = 3_000
/** Relays a presence may pass through: a mesh of people on one LAN is never that deep. */
export const MAX_PRESENCE_HOPS = 8
/** People held per document; more are ignored until some leave. */
export const MAX_PRESENT = 256
/** Presence messages (and gone notices) one peer may send per second, sustained, and in a burst. */
export const PEER_RATE = { perSecond: 200, burst: 400 } as const
/** New presences of one origin accepted per second (a window sends at most one per 80 ms). */
export const ORIGIN_RATE = { perSecond: 20, burst: 20 } as const
/** The state of an origin that left the document. */
export const LEFT = 'null'

const LABEL = utf8('meshpad/presence/v1\0')

/** A device's presence as it travels: signed by `origin` over `presenceBytes(docId, origin, seq, state)`. */
export interface SignedPresence {
  readonly origin: string
  readonly seq: number
  /** Relays it went through (not signed: a relay adds one). */
  readonly hops: number
  readonly state: string
  readonly signature: Uint8Array
}

/** What a presence's signature covers; NUL-separated, so no two fields can run into each other. */
export function presenceBytes(docId: string, origin: string, seq: number, state: string): Uint8Array {
  return concatBytes(LABEL, fromHex(docId), fromHex(origin), utf8(`${seq}\0`), utf8(state))
}

/** What the table needs from the node: its peers for this document, membership, keys and a clock. */
export interface PresenceNetwork<P> {
  readonly docId: string
  /** This device's key (hex). */
  readonly self: string
  /** The peers authenticated for this document now. */
  peers(): readonly P[]
  keyOf(peer: P): string
  send(peer: P, presence: SignedPresence, sentTo: readonly string[]): void
  sendGone(peer: P, origin: string, seq: number): void
  /** Whether a device is a member of the document now (not removed). */
  isMember(device: string): boolean
  verify(origin: string, data: Uint8Array, signature: Uint8Array): boolean
  /** Signs with this device's key. */
  sign(data: Uint8Array): Uint8Array
  now(): number
  /** Calls `callback` after `ms` (unless cancelled with the function returned). */
  setTimer(callback: () => void, ms: number): () => void
  /** The people or their states changed (not on a mere refresh). */
  changed(): void
  log(message: string): void
}

export interface Presence {
  readonly device: string
  /** The parsed JSON state (untrusted in content: the app checks its fields). */
  readonly state: unknown
  readonly expires: number
}

interface Entry<P> {
  readonly message: SignedPresence
  readonly state: unknown
  expires: number
  /** The peers that delivered this version: the paths to the origin. */
  readonly via: Set<P>
}

/** A token bucket: `take` says whether there was a token. */
class Budget {
  private tokens: number
  private at: number

  constructor(
    private readonly rate: { readonly perSecond: number; readonly burst: number },
    now: number,
  ) {
    this.tokens = rate.burst
    this.at = now
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.at) * this.rate.perSecond) / 1000)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** Least time between two log lines about refused presence (a flood must not flood the log). */
const LOG_EVERY_MS = 60_000

export class PresenceTable<P> {
  private readonly entries = new Map<string, Entry<P>>()
  /** The highest sequence number accepted per origin: kept after a person is dropped, so late copies stay out. */
  private readonly seen = new Map<string, number>()
  private readonly peerBudgets = new Map<P, Budget>()
  private readonly originBudgets = new Map<string, Budget>()
  private own: { message: SignedPresence; at: number } | null = null
  /** Cancels the expiry timer, while one is set. */
  private timer: (() => void) | undefined
  private lastLog = -Infinity
  /** Messages refused, by reason (for tests and diagnostics). */
  readonly refused = new Map<string, number>()

  constructor(private readonly net: PresenceNetwork<P>) {}

  /** Publishes this device's presence (`LEFT` when it leaves): a new sequence number, signed. */
  publish(state: string): void {
    const now = this.net.now()
    const seq = Math.max((this.own?.message.seq ?? 0) + 1, Math.floor(now))
    const signature = this.net.sign(presenceBytes(this.net.docId, this.net.self, seq, state))
    const message: SignedPresence = { origin: this.net.self, seq, hops: 0, state, signature }
    this.own = { message, at: now }
    this.forward(message, null, [])
  }

  /** A presence from `from`; returns why it was refused, or null (applied, or already known). */
  receive(from: P, m: SignedPresence, sentTo: readonly string[]): string | null {
    const now = this.net.now()
    if (!this.budget(from, now)) return this.refuse('peer over its rate')
    if (m.origin === this.net.self) return null // our own, back through a cycle
    if (m.hops > MAX_PRESENCE_HOPS) return this.refuse('too many hops')
    if (!this.net.isMember(m.origin)) return this.refuse('not a member')
    const seen = this.seen.get(m.origin) ?? 0
    if (m.seq <= seen) {
      // The same version by another path: one more way to reach the origin. A copy that differs in
      // anything signed is not the same version; it is ignored (and costs no verification).
      const entry = this.entries.get(m.origin)
      const same =
        entry?.message.seq === m.seq &&
        entry.message.state === m.state &&
        sameBytes(entry.message.signature, m.signature)
      if (same) entry.via.add(from)
      return null
    }
    if (!this.net.verify(m.origin, presenceBytes(this.net.docId, m.origin, m.seq, m.state), m.signature)) {
      return this.refuse('bad signature')
    }
    let budget = this.originBudgets.get(m.origin)
    if (!budget) this.originBudgets.set(m.origin, (budget = new Budget(ORIGIN_RATE, now)))
    if (!budget.take(now)) return this.refuse('origin over its rate')
    let state: unknown
    try {
      state = JSON.parse(m.state)
    } catch {
      return this.refuse('not JSON')
    }
    const previous = this.entries.get(m.origin)
    if (!previous && state !== null && this.entries.size >= MAX_PRESENT) return this.refuse('too many people')
    this.seen.set(m.origin, m.seq)
    if (state === null) {
      if (previous) {
        this.entries.delete(m.origin)
        this.net.changed()
      }
    } else {
      this.entries.set(m.origin, { message: m, state, expires: now + PRESENCE_TTL_MS, via: new Set([from]) })
      if (previous?.message.state !== m.state) this.net.changed()
      this.schedule()
    }
    if (m.hops < MAX_PRESENCE_HOPS) this.forward({ ...m, hops: m.hops + 1 }, from, sentTo)
    return null
  }

  /** `from` lost its path to `origin` (whose presence it had at `seq`). */
  gone(from: P, origin: string, seq: number): void {
    if (!this.budget(from, this.net.now())) return void this.refuse('peer over its rate')
    const entry = this.entries.get(origin)
    // A newer version came since, by some path that does not depend on what `from` lost.
    if (!entry || entry.message.seq > seq || !entry.via.delete(from)) return
    if (entry.via.size === 0) this.drop(origin, from)
  }

  /** A peer authenticated for the document: it hears everyone this node knows of, itself included. */
  peerReady(peer: P): void {
    const now = this.net.now()
    const key = this.net.keyOf(peer)
    const sentTo = [peerTag(this.net.self), peerTag(key)]
    if (this.own && now - this.own.at < PRESENCE_TTL_MS) this.net.send(peer, this.own.message, sentTo)
    for (const [origin, entry] of this.entries) {
      if (origin === key || entry.expires <= now || entry.message.hops >= MAX_PRESENCE_HOPS) continue
      this.net.send(peer, { ...entry.message, hops: entry.message.hops + 1 }, sentTo)
    }
  }

  /** A peer disconnected or lost access: the people only it led to are gone. */
  peerLeft(peer: P): void {
    this.peerBudgets.delete(peer)
    for (const [origin, entry] of [...this.entries]) {
      if (entry.via.delete(peer) && entry.via.size === 0) this.drop(origin, peer)
    }
  }

  /** The member list changed: removed devices' presence goes, and paths through peers that lost access. */
  prune(): void {
    const peers = new Set(this.net.peers())
    for (const [origin, entry] of [...this.entries]) {
      if (!this.net.isMember(origin)) {
        this.entries.delete(origin)
        this.net.changed()
        continue
      }
      for (const p of entry.via) if (!peers.has(p)) entry.via.delete(p)
      if (entry.via.size === 0) this.drop(origin, null)
    }
    for (const origin of this.seen.keys()) if (!this.net.isMember(origin)) this.seen.delete(origin)
    for (const origin of this.originBudgets.keys())
      if (!this.seen.has(origin)) this.originBudgets.delete(origin)
  }

  /** The people present now (this device not included). */
  list(): Presence[] {
    const now = this.net.now()
    const out: Presence[] = []
    for (const [device, e] of this.entries) {
      if (e.expires > now && this.net.isMember(device))
        out.push({ device, state: e.state, expires: e.expires })
    }
    return out
  }

  /** Stops the expiry timer (the document closes). */
  close(): void {
    this.timer?.()
    this.timer = undefined
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** Sends `m` on to every peer that does not have it yet, saying who does now. */
  private forward(m: SignedPresence, from: P | null, sentTo: readonly string[]): void {
    const skip = new Set(sentTo)
    skip.add(peerTag(m.origin))
    if (from) skip.add(peerTag(this.net.keyOf(from)))
    const targets = this.net.peers().filter((p) => p !== from && !skip.has(peerTag(this.net.keyOf(p))))
    if (targets.length === 0) return
    const reached = new Set(sentTo)
    reached.add(peerTag(this.net.self))
    reached.add(peerTag(m.origin))
    if (from) reached.add(peerTag(this.net.keyOf(from)))
    for (const p of targets) reached.add(peerTag(this.net.keyOf(p)))
    // Beyond the cap a receiver may relay to someone who has it: a duplicate, dropped there.
    const list = [...reached].slice(0, MAX_SENT_TO)
    for (const p of targets) this.net.send(p, m, list)
  }

  /** No path to `origin` is left: it goes, and the peers hear that none leads through here. */
  private drop(origin: string, except: P | null): void {
    const entry = this.entries.get(origin)
    if (!entry) return
    this.entries.delete(origin)
    this.net.changed()
    for (const p of this.net.peers()) {
      if (p !== except && this.net.keyOf(p) !== origin) this.net.sendGone(p, origin, entry.message.seq)
    }
  }

  private budget(peer: P, now: number): boolean {
    let budget = this.peerBudgets.get(peer)
    if (!budget) this.peerBudgets.set(peer, (budget = new Budget(PEER_RATE, now)))
    return budget.take(now)
  }

  private refuse(reason: string): string {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1)
    const now = this.net.now()
    if (now - this.lastLog >= LOG_EVERY_MS) {
      this.lastLog = now
      this.net.log(`refused presence for ${this.net.docId.slice(0, 8)}: ${reason}`)
    }
    return reason
  }

  /** Wakes when the next presence expires, so that people who left vanish without waiting for an event. */
  private schedule(): void {
    if (this.timer) return
    let next = Infinity
    for (const e of this.entries.values()) next = Math.min(next, e.expires)
    if (next === Infinity) return
    this.timer = this.net.setTimer(
      () => {
        this.timer = undefined
        const now = this.net.now()
        let expired = false
        for (const [origin, e] of [...this.entries]) {
          if (e.expires <= now) {
            this.entries.delete(origin)
            expired = true
          }
        }
        if (expired) this.net.changed()
        this.schedule()
      },
      Math.max(0, next - this.net.now()) + 5,
    )
  }
}
