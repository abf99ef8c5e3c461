/**
 * LanDiscovery: the node's side of mDNS discovery. It advertises hints for the documents this node
 * holds and dials the Meshpad peers that discovery finds, so that members on one LAN converge with no
 * action from anyone.
 *
 * Whom it dials: every discovered Meshpad peer (v=1), not only those whose hints match. Documents
 * shared "on LAN" are listed only after the Noise handshake (Workspace.sharedDocs), so the Nearby list
 * needs a connection; on a LAN that costs little. Peers whose hints match one of our documents are
 * always dialed; the others up to `maxDials` (32), so a crowded or hostile LAN cannot make this node
 * hold hundreds of connections. A peer that is lost is no longer redialed (an open connection stays
 * open); one that comes back is dialed at once, even if the dialer was backing off. When an interface
 * goes down, connections to its subnet are closed (see `interfaceDown`).
 */
import {
  advertisedHints,
  Discovery,
  inSubnet,
  recognisedHints,
  type DiscoveredPeer,
  type DiscoveryOptions,
  type UsableInterface,
} from '../discovery'
import type { Reconnector } from '../net/reconnect'
import type { DocSession } from './doc-session'
import type { Workspace } from './workspace'

export interface LanDiscoveryOptions {
  readonly workspace: Workspace
  readonly dialer: Reconnector
  /** Addresses added by hand (`add host:port`): discovery never stops dialing those. */
  readonly isManual: (host: string, port: number) => boolean
  readonly discovery?: DiscoveryOptions
  /** Unmatched peers dialed at most (default 32). */
  readonly maxDials?: number
  /** How often hints are recomputed: new time window, rotated keys (default 10 s). */
  readonly hintRefreshMs?: number
  readonly now?: () => number
  readonly log: (message: string) => void
}

export interface LanPeer {
  readonly peer: DiscoveredPeer
  /** Its hints match a document this node holds. */
  readonly member: boolean
  /** This node keeps it connected. */
  readonly dialed: boolean
}

/** Documents whose hints are advertised at most: 32 × 2 windows = the TXT cap of 64 hints. */
const MAX_ADVERTISED_DOCS = 32
/** Older key epochs still recognised, for members that have not received a rotated key yet. */
const OLD_EPOCHS = 3

interface Dialed {
  readonly host: string
  readonly port: number
  member: boolean
}

export class LanDiscovery {
  readonly discovery: Discovery
  private readonly dialed = new Map<string, Dialed>()
  private readonly maxDials: number
  private readonly now: () => number
  private readonly unsubscribe: (() => void)[] = []
  private recognised = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(private readonly options: LanDiscoveryOptions) {
    this.maxDials = options.maxDials ?? 32
    this.now = options.now ?? Date.now
    this.discovery = new Discovery({
      log: (level, message) => {
        if (level !== 'debug') options.log(`discovery: ${message}`)
      },
      ...options.discovery,
    })
  }

  /** Advertises `port` and starts dialing what is found. */
  start(port: number): void {
    const { workspace } = this.options
    const watch = (doc: DocSession): void => {
      const refresh = (): void => this.guard(() => this.refreshHints())
      doc.on('members', refresh)
      doc.on('key', refresh)
      this.unsubscribe.push(() => {
        doc.off('members', refresh)
        doc.off('key', refresh)
      })
    }
    const onDoc = (doc: DocSession): void => {
      watch(doc)
      this.guard(() => this.refreshHints())
    }
    for (const doc of workspace.openDocs()) watch(doc)
    workspace.on('doc', onDoc)
    this.unsubscribe.push(() => workspace.off('doc', onDoc))
    const { discovery } = this
    discovery.on('found', (peer) => this.consider(peer))
    discovery.on('updated', (peer) => this.consider(peer))
    discovery.on('lost', (peer) => this.lost(peer))
    discovery.on('interface-down', (iface) => this.interfaceDown(iface))
    // A link came up (resume, new network): whatever waits for a retry may be reachable now.
    discovery.on('interface-up', () => this.options.dialer.reconnectNow())
    this.recognised = recognisedHints(this.keys(OLD_EPOCHS), this.now())
    discovery.start({ port, hints: this.currentHints() })
    this.timer = setInterval(
      () => this.guard(() => this.refreshHints()),
      this.options.hintRefreshMs ?? 10_000,
    )
  }

  /** Discovery is a convenience: nothing it does may break the node that runs it. */
  private guard(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.options.log(`discovery: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** Recomputes hints (documents opened, keys rotated, a new window) and dials newly matching peers. */
  refreshHints(): void {
    if (this.closed) return
    this.recognised = recognisedHints(this.keys(OLD_EPOCHS), this.now())
    this.discovery.setHints(this.currentHints())
    for (const peer of this.discovery.peers()) this.consider(peer)
  }

  /** Whether a discovered peer advertises a hint of a document this node holds. */
  isMember(peer: DiscoveredPeer): boolean {
    return peer.version === '1' && peer.hints.some((h) => this.recognised.has(h))
  }

  peers(): LanPeer[] {
    return this.discovery.peers().map((peer) => ({
      peer,
      member: this.isMember(peer),
      dialed: this.dialed.has(peer.instance),
    }))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    for (const off of this.unsubscribe.splice(0)) off()
    this.dialed.clear()
    await this.discovery.destroy()
  }

  private currentHints(): string[] {
    return advertisedHints(this.keys(0).slice(0, MAX_ADVERTISED_DOCS), this.now())
  }

  /** The key of each open document's current epoch and, with `older` > 0, of that many before it. */
  private keys(older: number): Uint8Array[] {
    const keys: Uint8Array[] = []
    for (const doc of this.options.workspace.openDocs()) {
      for (let epoch = doc.epoch; epoch >= Math.max(0, doc.epoch - older); epoch--) {
        const key = doc.keyFor(epoch)
        if (key) keys.push(key)
      }
    }
    return keys
  }

  private consider(peer: DiscoveredPeer): void {
    if (this.closed || peer.version !== '1') return
    const host = peer.addresses[0]!
    const member = this.isMember(peer)
    const current = this.dialed.get(peer.instance)
    if (current && current.host === host && current.port === peer.port) {
      current.member = member
      return
    }
    if (current) this.forget(peer.instance)
    const others = [...this.dialed.values()].filter((d) => !d.member).length
    if (!member && others >= this.maxDials) return
    this.dialed.set(peer.instance, { host, port: peer.port, member })
    const { dialer } = this.options
    const status = dialer.status().find((t) => t.host === host && t.port === peer.port)
    if (status && status.state !== 'waiting') return // connected or dialing already
    // Seen again while the dialer waits out a backoff (it is back after a partition): dial now.
    if (status) dialer.unwant(host, peer.port)
    dialer.want(host, peer.port)
    this.options.log(`discovery: dialing ${member ? 'member ' : ''}${peer.instance} at ${host}:${peer.port}`)
  }

  private lost(peer: DiscoveredPeer): void {
    this.forget(peer.instance)
    // A slot may have freed up for a peer that the cap kept out.
    for (const other of this.discovery.peers()) if (!this.dialed.has(other.instance)) this.consider(other)
  }

  /** Stops redialing an instance's address, unless someone else still wants it. */
  private forget(instance: string): void {
    const dialed = this.dialed.get(instance)
    if (!dialed) return
    this.dialed.delete(instance)
    const stillWanted = [...this.dialed.values()].some(
      (d) => d.host === dialed.host && d.port === dialed.port,
    )
    if (!stillWanted && !this.options.isManual(dialed.host, dialed.port)) {
      this.options.dialer.unwant(dialed.host, dialed.port)
    }
  }

  /**
   * The link to that subnet is gone, so are the connections over it, even if TCP does not know yet.
   * Closing them now means that when the link returns, the redial makes a fresh connection instead of
   * pairing with a stalled one that waits out its retransmission backoff.
   */
  private interfaceDown(iface: UsableInterface): void {
    for (const peer of this.options.workspace.peers()) {
      const address = peer.address.replace(/^::ffff:/, '')
      if (inSubnet(address, iface)) this.options.workspace.disconnect(peer.device)
    }
  }
}
