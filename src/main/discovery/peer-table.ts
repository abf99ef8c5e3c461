/**
 * The live table of Meshpad peers seen on the LAN: instance → port, addresses, hints, last seen.
 * Records arrive from responses (already validated); each kind expires with its own TTL. A peer is
 * visible ('found') once its SRV is known, and is 'lost' when its SRV expires, when it says goodbye
 * (TTL 0), or when the only interfaces it was seen on go away. The table is capped: a flood of fake
 * instances fills it up to `maxPeers` and no further.
 */
import { isDialable, isLoopback } from './interfaces'
import type { ObservedRecord } from './packets'
import { sameName } from './service'
import type { TxtInfo } from './txt'

export interface DiscoveredPeer {
  /** The instance label (`meshpad-xxxxxxxx` for Meshpad; anything for another implementation). */
  readonly instance: string
  /** Where to dial it, best first (never empty). */
  readonly addresses: readonly string[]
  readonly port: number
  /** The `v=` of its TXT record, null if none. */
  readonly version: string | null
  readonly hints: readonly string[]
  /** When a record of it last arrived (ms, the table's clock). */
  readonly lastSeen: number
  readonly expiresAt: number
}

export type PeerChangeType = 'found' | 'updated' | 'lost'

export interface PeerChange {
  readonly type: PeerChangeType
  readonly peer: DiscoveredPeer
}

export interface PeerTableOptions {
  readonly self: string
  readonly maxPeers: number
  readonly now: () => number
  /** Whether an address is on one of this node's subnets (preferred for dialing). */
  readonly isLocal: (address: string) => boolean
}

const MAX_ADDRESSES = 8

interface Entry {
  readonly key: string
  readonly instance: string
  port: number | null
  target: string | null
  srvSeen: number
  srvTtlMs: number
  ptrExpires: number
  txt: TxtInfo | null
  txtExpires: number
  readonly addresses: Map<string, number>
  source: string
  readonly via: Set<string>
  lastSeen: number
  refreshes: number
  resolveAt: number
  visible: DiscoveredPeer | null
}

export class PeerTable {
  private readonly entries = new Map<string, Entry>()
  /** Instances ignored because the table was full. */
  dropped = 0

  constructor(private readonly options: PeerTableOptions) {}

  get size(): number {
    return this.entries.size
  }

  peers(): DiscoveredPeer[] {
    return [...this.entries.values()].flatMap((e) => (e.visible ? [e.visible] : []))
  }

  /** Applies the records of one response from `source`, received on interface `via`. */
  apply(records: readonly ObservedRecord[], source: string, via: string): PeerChange[] {
    const now = this.options.now()
    const touched = new Set<Entry>()
    const gone = new Set<Entry>()
    for (const r of records) {
      if (r.kind === 'a' || sameName(r.instance, this.options.self)) continue
      if (r.ttl === 0) {
        // A goodbye: the PTR or SRV going away ends the peer; a TXT going away only drops its hints.
        const entry = this.entries.get(r.instance.toLowerCase())
        if (!entry) continue
        if (r.kind === 'txt') {
          entry.txt = null
          touched.add(entry)
        } else gone.add(entry)
        continue
      }
      const entry = this.entry(r.instance, source, now)
      if (!entry) continue
      touched.add(entry)
      if (r.kind === 'ptr') entry.ptrExpires = now + r.ttl * 1000
      else if (r.kind === 'srv') {
        entry.port = r.port
        entry.target = r.target
        entry.srvSeen = now
        entry.srvTtlMs = r.ttl * 1000
        entry.refreshes = 0
      } else {
        entry.txt = r.txt
        entry.txtExpires = now + r.ttl * 1000
      }
    }
    // The source and interface of a peer are those of packets that carry its own records; an A record
    // alone (anyone may send one for any name) only adds an address.
    for (const entry of touched) {
      entry.lastSeen = now
      entry.source = source
      entry.via.add(via)
    }
    for (const r of records) {
      if (r.kind !== 'a') continue
      for (const entry of this.entries.values()) {
        if (entry.target === null || !sameName(entry.target, r.host)) continue
        if (r.ttl === 0) entry.addresses.delete(r.address)
        else if (entry.addresses.has(r.address) || entry.addresses.size < MAX_ADDRESSES) {
          entry.addresses.set(r.address, now + r.ttl * 1000)
        }
        touched.add(entry)
      }
    }
    const changes: PeerChange[] = []
    for (const entry of gone) {
      touched.delete(entry)
      this.remove(entry, changes)
    }
    for (const entry of touched) this.publish(entry, changes)
    return changes
  }

  /** Drops what has expired; call it regularly. */
  expire(): PeerChange[] {
    const now = this.options.now()
    const changes: PeerChange[] = []
    for (const entry of [...this.entries.values()]) {
      if (this.expiresAt(entry) <= now) {
        this.remove(entry, changes)
        continue
      }
      let changed = false
      if (entry.txt && entry.txtExpires <= now) {
        entry.txt = null
        changed = true
      }
      for (const [address, expires] of entry.addresses) {
        if (expires <= now) {
          entry.addresses.delete(address)
          changed = true
        }
      }
      if (changed) this.publish(entry, changes)
    }
    return changes
  }

  /**
   * Instances to ask about again now: those whose SRV is at 80 % and 90 % of its TTL (RFC 6762 §5.2),
   * and those known only from a PTR (asked once a second until their SRV comes).
   */
  due(): string[] {
    const now = this.options.now()
    const out: string[] = []
    for (const entry of this.entries.values()) {
      if (entry.port === null) {
        if (now >= entry.resolveAt) {
          entry.resolveAt = now + 1000
          out.push(entry.instance)
        }
        continue
      }
      const age = (now - entry.srvSeen) / entry.srvTtlMs
      if ((entry.refreshes === 0 && age >= 0.8) || (entry.refreshes === 1 && age >= 0.9)) {
        entry.refreshes++
        out.push(entry.instance)
      }
    }
    return out
  }

  /** An interface went away: peers seen on it alone are lost. */
  dropInterface(via: string): PeerChange[] {
    const changes: PeerChange[] = []
    for (const entry of [...this.entries.values()]) {
      entry.via.delete(via)
      if (entry.via.size === 0) this.remove(entry, changes)
    }
    return changes
  }

  clear(): void {
    this.entries.clear()
  }

  private entry(instance: string, source: string, now: number): Entry | null {
    const key = instance.toLowerCase()
    const existing = this.entries.get(key)
    if (existing) return existing
    if (this.entries.size >= this.options.maxPeers) {
      this.dropped++
      return null
    }
    const entry: Entry = {
      key,
      instance,
      port: null,
      target: null,
      srvSeen: now,
      srvTtlMs: 0,
      ptrExpires: now,
      txt: null,
      txtExpires: 0,
      addresses: new Map(),
      source,
      via: new Set(),
      lastSeen: now,
      refreshes: 0,
      resolveAt: now,
      visible: null,
    }
    this.entries.set(key, entry)
    return entry
  }

  private expiresAt(entry: Entry): number {
    return entry.port === null ? entry.ptrExpires : entry.srvSeen + entry.srvTtlMs
  }

  private remove(entry: Entry, changes: PeerChange[]): void {
    this.entries.delete(entry.key)
    if (entry.visible) changes.push({ type: 'lost', peer: entry.visible })
    entry.visible = null
  }

  private publish(entry: Entry, changes: PeerChange[]): void {
    const addresses = this.addressesOf(entry)
    if (entry.port === null || addresses.length === 0) return
    const before = entry.visible
    const peer: DiscoveredPeer = {
      instance: entry.instance,
      addresses,
      port: entry.port,
      version: entry.txt?.version ?? null,
      hints: entry.txt?.hints ?? [],
      lastSeen: entry.lastSeen,
      expiresAt: this.expiresAt(entry),
    }
    entry.visible = peer
    if (!before) changes.push({ type: 'found', peer })
    else if (!sameDial(before, peer)) changes.push({ type: 'updated', peer })
  }

  /**
   * Addresses on our subnets first, then the others, each group in the order first seen, so that the
   * best address stays put while a peer answers on several interfaces; the packet's source if it
   * advertised no usable address. Loopback only from loopback (peers on this machine).
   */
  private addressesOf(entry: Entry): string[] {
    const fromLoopback = isLoopback(entry.source)
    const usable = [...entry.addresses.keys()].filter(
      (a) => isDialable(a) && (fromLoopback || !isLoopback(a)),
    )
    const rank = (a: string): number => (this.options.isLocal(a) ? 0 : 1)
    usable.sort((a, b) => rank(a) - rank(b))
    if (usable.length === 0 && isDialable(entry.source)) usable.push(entry.source)
    return usable
  }
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

const sameDial = (a: DiscoveredPeer, b: DiscoveredPeer): boolean =>
  a.port === b.port &&
  a.version === b.version &&
  sameList(a.addresses, b.addresses) &&
  sameList(a.hints, b.hints)
