/**
 * Discovery: advertises this node as `_meshpad._tcp.local` and keeps a live table of the other
 * Meshpad nodes on the LAN, with one multicast-dns socket per usable IPv4 interface.
 *
 * - Advertise: a random instance name per launch; PTR, SRV (port, `<instance>.local`), TXT (`v=1`,
 *   hints), A (the interface's address). Answers queries; announces (twice, 1 s apart) on start, when
 *   the hints change and when an interface comes up; says goodbye (TTL 0) on destroy.
 * - Browse: queries at once, then after 1 s, 2 s, 4 s … 60 s (again from 1 s when an interface comes
 *   up); re-asks about each peer at 80 % and 90 % of its TTL; emits found / updated / lost.
 * - Interfaces: polled (os.networkInterfaces) and diffed; a socket per interface is opened, closed
 *   or retried with backoff as they come and go. Nothing here throws into the event loop.
 *
 * It knows nothing about documents: hints are opaque strings that the node computes (hints.ts).
 */
import { EventEmitter } from 'node:events'
import type { RemoteInfo } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import type { Question, RecordType } from 'dns-packet'
import {
  defaultInterfaceFilter,
  inSubnet,
  interfaceKey,
  pinnedInterface,
  usableInterfaces,
  type InterfaceFilter,
  type NetworkInterfaceMap,
  type UsableInterface,
} from './interfaces'
import { describeError, type DiscoveryLog } from './log'
import { MdnsSocket } from './mdns-socket'
import { isPort, readQuery, readResponse } from './packets'
import { PeerTable, type DiscoveredPeer, type PeerChange } from './peer-table'
import { QuerySchedule } from './query-schedule'
import { RateLimit } from './rate-limit'
import { announcement, answerQuery, legacyUnicast, type OwnService } from './records'
import {
  instanceFullName,
  isLabel,
  MDNS_PORT,
  PROTOCOL_VERSION,
  randomInstanceName,
  SERVICE_TYPE,
} from './service'
import { encodeTxt, MAX_ADVERTISED_HINTS } from './txt'
import { isHint } from './hints'

export interface DiscoveryOptions {
  /** mDNS UDP port (default 5353). Tests use another one, so that they meet nothing else. */
  readonly port?: number
  /**
   * Pins discovery to the one interface with this IPv4 address (e.g. '127.0.0.1' in tests) instead
   * of every usable interface.
   */
  readonly interface?: string
  /** Address the sockets bind to (default '0.0.0.0', which is what receives multicast). */
  readonly bind?: string
  /** Which interfaces to use when not pinned (default: up, not loopback, not a container bridge). */
  readonly interfaceFilter?: InterfaceFilter
  /** Where interfaces are read from (default os.networkInterfaces; tests inject changes). */
  readonly networkInterfaces?: () => NetworkInterfaceMap
  /** How often interfaces are polled for changes (default 2000 ms). */
  readonly interfacePollMs?: number
  /** TTL of this node's records, in seconds (default 120). */
  readonly ttl?: number
  /** First and highest delay between browse queries (defaults 1000 and 60 000 ms). */
  readonly queryMinMs?: number
  readonly queryMaxMs?: number
  /** How often expiry and refreshes are checked (default 1000 ms). */
  readonly tickMs?: number
  /** Peers kept at most (default 256); more are ignored until some leave. */
  readonly maxPeers?: number
  /** The instance label (default: a random `meshpad-xxxxxxxx`). */
  readonly instance?: string
  /** The clock of the peer table (ms). */
  readonly now?: () => number
  readonly log?: DiscoveryLog
}

export interface DiscoveryEvents {
  found: [peer: DiscoveredPeer]
  updated: [peer: DiscoveredPeer]
  lost: [peer: DiscoveredPeer]
  /** Discovery runs on this interface now (it came up, or discovery started). */
  'interface-up': [iface: UsableInterface]
  /** This interface went away (cable pulled, Wi-Fi lost, address changed): its peers are lost. */
  'interface-down': [iface: UsableInterface]
}

export interface AdvertisedService {
  /** The TCP port peers dial. */
  readonly port: number
  readonly hints?: readonly string[]
}

export interface DiscoveryStats {
  /** Packets decoded and looked at. */
  readonly packets: number
  /** Datagrams that did not decode. */
  readonly malformed: number
  /** Answers sent to queries. */
  readonly answered: number
  /** Answers not sent because of the rate limit. */
  readonly throttled: number
  /** Instances ignored because the table was full. */
  readonly dropped: number
}

interface Failure {
  count: number
  retryAt: number
}

const ANNOUNCE_REPEAT_MS = 1000
const GOODBYE_TIMEOUT_MS = 1000
const MAX_QUESTIONS_PER_QUERY = 16

export class Discovery extends EventEmitter<DiscoveryEvents> {
  readonly instance: string
  private readonly port: number
  private readonly bind: string
  private readonly ttl: number
  private readonly pollMs: number
  private readonly tickMs: number
  private readonly log: DiscoveryLog
  private readonly now: () => number
  private readonly table: PeerTable
  private readonly schedule: QuerySchedule
  private readonly sockets = new Map<string, MdnsSocket>()
  private readonly limits = new Map<string, RateLimit>()
  private readonly failures = new Map<string, Failure>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private service: OwnService | null = null
  private hints: readonly string[] = []
  private queryTimer: NodeJS.Timeout | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private tickTimer: NodeJS.Timeout | null = null
  private destroying: Promise<void> | null = null
  private destroyed = false
  private counts = { packets: 0, malformed: 0, answered: 0, throttled: 0 }

  constructor(private readonly options: DiscoveryOptions = {}) {
    super()
    this.instance = options.instance ?? randomInstanceName()
    if (!isLabel(this.instance) || !/^[A-Za-z0-9-]+$/.test(this.instance)) {
      throw new TypeError(
        `discovery: instance must be a host label (letters, digits, -), got ${this.instance}`,
      )
    }
    this.port = options.port ?? MDNS_PORT
    if (!isPort(this.port)) throw new RangeError(`discovery: port must be in [1, 65535], got ${this.port}`)
    this.bind = options.bind ?? '0.0.0.0'
    this.ttl = options.ttl ?? 120
    if (!(Number.isInteger(this.ttl) && this.ttl >= 1)) throw new RangeError('discovery: ttl must be ≥ 1 s')
    this.pollMs = options.interfacePollMs ?? 2000
    this.tickMs = options.tickMs ?? 1000
    this.log = options.log ?? (() => undefined)
    this.now = options.now ?? Date.now
    this.schedule = new QuerySchedule(options.queryMinMs ?? 1000, options.queryMaxMs ?? 60_000)
    this.table = new PeerTable({
      self: this.instance,
      maxPeers: options.maxPeers ?? 256,
      now: this.now,
      isLocal: (address) => [...this.sockets.values()].some((s) => inSubnet(address, s.iface)),
    })
  }

  /** Starts advertising `service` and browsing. Call once. */
  start(service: AdvertisedService): void {
    if (this.destroyed) throw new Error('Discovery.start: destroyed')
    if (this.service) throw new Error('Discovery.start: already started')
    if (!isPort(service.port)) throw new RangeError(`Discovery.start: bad port ${service.port}`)
    this.hints = cleanHints(service.hints ?? [])
    this.service = {
      instance: this.instance,
      port: service.port,
      txt: encodeTxt(PROTOCOL_VERSION, this.hints),
      ttl: this.ttl,
    }
    this.syncInterfaces()
    this.pollTimer = setInterval(() => this.guard('interface poll', () => this.syncInterfaces()), this.pollMs)
    this.tickTimer = setInterval(() => this.guard('tick', () => this.tick()), this.tickMs)
    this.log('info', `advertising ${instanceFullName(this.instance)} on port ${service.port}`)
  }

  /** Replaces the advertised hints; announces if they changed. */
  setHints(hints: readonly string[]): void {
    const next = cleanHints(hints)
    if (!this.service || this.destroyed || sameSet(next, this.hints)) return
    this.hints = next
    this.service = { ...this.service, txt: encodeTxt(PROTOCOL_VERSION, next) }
    this.announce([...this.sockets.values()])
  }

  advertisedHints(): readonly string[] {
    return this.hints
  }

  peers(): DiscoveredPeer[] {
    return this.table.peers()
  }

  /** The interfaces discovery currently runs on. */
  interfaces(): UsableInterface[] {
    return [...this.sockets.values()].filter((s) => s.isReady).map((s) => s.iface)
  }

  stats(): DiscoveryStats {
    return { ...this.counts, dropped: this.table.dropped }
  }

  /** The network may have changed (resume from sleep…): rescan interfaces, announce and ask again now. */
  networkChanged(): void {
    if (!this.service || this.destroyed) return
    this.syncInterfaces()
    const ready = [...this.sockets.values()].filter((s) => s.isReady)
    this.announce(ready)
    this.schedule.reset()
    this.queryNow()
  }

  /**
   * Idempotent. Says goodbye (TTL 0) on every interface unless `goodbye: false`, then closes every
   * socket and timer; resolves when all are closed.
   */
  destroy(options: { goodbye?: boolean } = {}): Promise<void> {
    if (!this.destroying) {
      this.destroyed = true
      this.destroying = this.teardown(options.goodbye !== false)
    }
    return this.destroying
  }

  // ---- interfaces ----------------------------------------------------------------------------------

  private wantedInterfaces(): UsableInterface[] {
    const list = this.options.networkInterfaces ?? networkInterfaces
    try {
      if (this.options.interface !== undefined) return [pinnedInterface(this.options.interface, list())]
      return usableInterfaces(list(), this.options.interfaceFilter ?? defaultInterfaceFilter)
    } catch (error) {
      this.log('warn', `cannot list network interfaces: ${describeError(error)}`)
      return [...this.sockets.values()].map((s) => s.iface)
    }
  }

  private syncInterfaces(): void {
    if (!this.service || this.destroyed) return
    const wanted = new Map(this.wantedInterfaces().map((i) => [interfaceKey(i), i]))
    for (const [key, socket] of this.sockets) {
      if (wanted.has(key)) continue
      this.log('info', `interface ${key} went away`)
      this.dropSocket(key, socket)
    }
    const now = performance.now()
    for (const [key, iface] of wanted) {
      if (this.sockets.has(key) || (this.failures.get(key)?.retryAt ?? 0) > now) continue
      this.sockets.set(key, this.openSocket(iface))
    }
    for (const key of this.failures.keys()) if (!wanted.has(key)) this.failures.delete(key)
  }

  private openSocket(iface: UsableInterface): MdnsSocket {
    return new MdnsSocket(
      { iface, port: this.port, bind: this.bind, log: this.log },
      {
        onReady: (socket) => this.socketReady(socket),
        onPacket: (kind, packet, from, socket) => {
          if (kind === 'query') this.handleQuery(packet, from, socket)
          else this.handleResponse(packet, from, socket)
        },
        onMalformed: (socket, error) => {
          this.counts.malformed++
          this.log('debug', `${socket.label()}: undecodable packet: ${error.message}`)
        },
        onFailure: (socket, error) => this.socketFailed(socket, error),
      },
    )
  }

  private socketReady(socket: MdnsSocket): void {
    const key = interfaceKey(socket.iface)
    if (this.sockets.get(key) !== socket) return
    this.failures.delete(key)
    this.limits.set(key, new RateLimit(10, 20))
    this.log('info', `mDNS up on ${key}`)
    this.announce([socket])
    // A new interface may lead anywhere: browse from the short delays again.
    this.schedule.reset()
    this.queryNow()
    this.safely('interface-up', () => this.emit('interface-up', socket.iface))
  }

  private socketFailed(socket: MdnsSocket, error: Error): void {
    const key = interfaceKey(socket.iface)
    if (this.sockets.get(key) !== socket) return
    this.dropSocket(key, socket)
    const failure = this.failures.get(key) ?? { count: 0, retryAt: 0 }
    failure.count++
    failure.retryAt = performance.now() + Math.min(60_000, this.pollMs * 2 ** (failure.count - 1))
    this.failures.set(key, failure)
    this.log(
      failure.count === 1 ? 'warn' : 'debug',
      `mDNS on ${key} failed (${describeError(error)}); will retry`,
    )
  }

  private dropSocket(key: string, socket: MdnsSocket): void {
    const wasUp = socket.isReady || this.limits.has(key)
    this.sockets.delete(key)
    this.limits.delete(key)
    void socket.close()
    this.emitChanges(this.table.dropInterface(key))
    if (wasUp) this.safely('interface-down', () => this.emit('interface-down', socket.iface))
  }

  // ---- sending -------------------------------------------------------------------------------------

  /** Announces on these sockets now and once more a second later (RFC 6762 §8.3). */
  private announce(sockets: MdnsSocket[]): void {
    const send = (): void => {
      for (const socket of sockets) {
        if (!this.service || !socket.isReady) continue
        void socket.respond({ answers: announcement(this.service, socket.iface.address) })
      }
    }
    send()
    this.later(ANNOUNCE_REPEAT_MS, send)
  }

  private queryNow(): void {
    if (this.queryTimer) clearTimeout(this.queryTimer)
    this.queryTimer = null
    if (this.destroyed) return
    this.sendQuery([{ name: SERVICE_TYPE, type: 'PTR' }])
    this.queryTimer = setTimeout(() => this.guard('query', () => this.queryNow()), this.schedule.next())
  }

  private sendQuery(questions: Question[]): void {
    for (const socket of this.sockets.values()) void socket.query({ questions })
  }

  private tick(): void {
    this.emitChanges(this.table.expire())
    const due = this.table.due()
    for (let i = 0; i < due.length; i += MAX_QUESTIONS_PER_QUERY / 2) {
      this.sendQuery(
        due.slice(i, i + MAX_QUESTIONS_PER_QUERY / 2).flatMap((instance) => [
          { name: instanceFullName(instance), type: 'SRV' as const },
          { name: instanceFullName(instance), type: 'TXT' as const },
        ]),
      )
    }
  }

  // ---- receiving -----------------------------------------------------------------------------------

  /**
   * Linux delivers a multicast datagram to every socket bound to the port, whatever interface it came
   * in on. The socket whose subnet holds the source handles it; if none does, each one may.
   */
  private handles(socket: MdnsSocket, source: string): boolean {
    for (const s of this.sockets.values()) if (s.isReady && inSubnet(source, s.iface)) return s === socket
    return true
  }

  private handleQuery(packet: unknown, from: RemoteInfo, socket: MdnsSocket): void {
    this.counts.packets++
    if (!this.service || this.destroyed || !this.handles(socket, from.address)) return
    const query = readQuery(packet)
    const answer = answerQuery(query, this.service, socket.iface.address)
    if (!answer) return
    const limit = this.limits.get(interfaceKey(socket.iface))
    if (limit && !limit.take()) {
      this.counts.throttled++
      return
    }
    this.counts.answered++
    if (from.port === this.port) {
      void socket.respond({ answers: answer.answers, additionals: answer.additionals })
    } else if (inSubnet(from.address, socket.iface)) {
      // A legacy (one-shot) resolver asked from another port: it only hears a unicast reply that
      // echoes its ID and questions (RFC 6762 §6.7). Only to a source on this interface's subnet.
      void socket.respond(
        {
          id: query.id,
          // dns-packet encodes ANY (255); only its typings leave it out of RecordType.
          questions: query.questions.map((q) => ({ name: q.name, type: q.type as RecordType })),
          answers: legacyUnicast(answer.answers),
          additionals: legacyUnicast(answer.additionals),
        },
        { address: from.address, port: from.port },
      )
    }
  }

  private handleResponse(packet: unknown, from: RemoteInfo, socket: MdnsSocket): void {
    this.counts.packets++
    if (this.destroyed || !this.handles(socket, from.address)) return
    const records = readResponse(packet)
    if (records.length === 0) return
    this.emitChanges(this.table.apply(records, from.address, interfaceKey(socket.iface)))
  }

  private emitChanges(changes: readonly PeerChange[]): void {
    for (const change of changes) {
      this.log(
        'debug',
        `${change.type} ${change.peer.instance} at ${change.peer.addresses.join(', ')}:${change.peer.port}`,
      )
      this.safely(change.type, () => this.emit(change.type, change.peer))
    }
  }

  /** A listener that throws is logged; it never breaks discovery. */
  private safely(event: keyof DiscoveryEvents, emit: () => void): void {
    try {
      emit()
    } catch (error) {
      this.log('warn', `a discovery '${event}' listener failed: ${describeError(error)}`)
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  private async teardown(goodbye: boolean): Promise<void> {
    for (const timer of [this.queryTimer, this.pollTimer, this.tickTimer, ...this.timers]) {
      if (timer) {
        clearTimeout(timer)
        clearInterval(timer)
      }
    }
    this.timers.clear()
    this.queryTimer = this.pollTimer = this.tickTimer = null
    const sockets = [...this.sockets.values()]
    this.sockets.clear()
    const service = this.service
    if (goodbye && service) {
      const sent = Promise.all(
        sockets.map((s) => s.respond({ answers: announcement(service, s.iface.address, true) })),
      )
      let timer: NodeJS.Timeout | undefined
      await Promise.race([sent, new Promise((resolve) => (timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS)))])
      clearTimeout(timer)
    }
    await Promise.all(sockets.map((s) => s.close()))
    this.table.clear()
    this.limits.clear()
    this.log('info', `stopped advertising ${this.instance}`)
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.guard('timer', fn)
    }, ms)
    this.timers.add(timer)
  }

  private guard(what: string, fn: () => void): void {
    if (this.destroyed) return
    try {
      fn()
    } catch (error) {
      this.log('warn', `discovery ${what} failed: ${describeError(error)}`)
    }
  }
}

function cleanHints(hints: readonly string[]): string[] {
  const out = new Set<string>()
  for (const h of hints) {
    if (!isHint(h)) throw new TypeError(`discovery: a hint must be 12 lowercase hex digits, got ${h}`)
    if (out.size < MAX_ADVERTISED_HINTS) out.add(h)
  }
  return [...out]
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x) => b.includes(x))

export type { DiscoveredPeer }
