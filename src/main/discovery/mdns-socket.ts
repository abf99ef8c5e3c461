/**
 * One multicast-dns socket on one interface: joins 224.0.0.251 there, sends multicast out of it, and
 * hands decoded packets up. It never throws into the event loop: every handler is wrapped, bind
 * failures (EADDRINUSE, EACCES, EADDRNOTAVAIL) go to `onFailure`, and every send has a callback,
 * because multicast-dns drops send errors silently without one.
 */
import type { RemoteInfo } from 'node:dgram'
import makeMdns from 'multicast-dns'
import type { UsableInterface } from './interfaces'
import { describeError, type DiscoveryLog } from './log'

export interface MdnsSocketHandlers {
  readonly onPacket: (
    kind: 'query' | 'response',
    packet: unknown,
    from: RemoteInfo,
    socket: MdnsSocket,
  ) => void
  readonly onReady: (socket: MdnsSocket) => void
  readonly onFailure: (socket: MdnsSocket, error: Error) => void
  /** A packet that could not be decoded (counted, logged at debug level). */
  readonly onMalformed: (socket: MdnsSocket, error: Error) => void
}

export interface MdnsSocketOptions {
  readonly iface: UsableInterface
  readonly port: number
  /** Address the socket binds to: 0.0.0.0 receives multicast; the interface address would not. */
  readonly bind: string
  readonly log: DiscoveryLog
}

export interface Destination {
  readonly address: string
  readonly port: number
}

export class MdnsSocket {
  readonly iface: UsableInterface
  private readonly mdns: ReturnType<typeof makeMdns>
  private state: 'binding' | 'ready' | 'closed' = 'binding'
  private closing: Promise<void> | null = null
  private membershipError: Error | null = null

  constructor(
    private readonly options: MdnsSocketOptions,
    private readonly handlers: MdnsSocketHandlers,
  ) {
    this.iface = options.iface
    this.mdns = makeMdns({
      port: options.port,
      interface: options.iface.address,
      bind: options.bind,
      reuseAddr: true,
      loopback: true,
    })
    this.mdns.on('ready', () => this.guard('ready', () => this.ready()))
    this.mdns.on('query', (packet, from) => this.guard('query', () => this.packet('query', packet, from)))
    this.mdns.on('response', (packet, from) =>
      this.guard('response', () => this.packet('response', packet, from)),
    )
    this.mdns.on('warning', (error: Error) => this.guard('warning', () => this.warning(error)))
    this.mdns.on('error', (error: Error) => this.guard('error', () => this.fail(error)))
  }

  get isReady(): boolean {
    return this.state === 'ready'
  }

  get isClosed(): boolean {
    return this.state === 'closed'
  }

  /** Sends a query by multicast. Resolves whether it left; never rejects (see `send`). */
  query(packet: makeMdns.QueryOutgoingPacket): Promise<boolean> {
    return this.send((done) => this.mdns.query(packet, done))
  }

  /** Sends a response, by multicast unless `to` is given. Resolves whether it left; never rejects. */
  respond(packet: makeMdns.ResponseOutgoingPacket, to?: Destination): Promise<boolean> {
    return this.send((done) => this.mdns.respond(packet, to, done))
  }

  /**
   * Resolves true once the datagram left, false if it could not be sent: not bound yet, closed, or a
   * send error (EADDRNOTAVAIL, ENETUNREACH… logged at debug level).
   */
  private send(transmit: (done: (error: Error | null) => void) => void): Promise<boolean> {
    if (this.state !== 'ready') return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = (error: Error | null): void => {
        if (error) this.options.log('debug', `${this.label()}: send failed: ${describeError(error)}`)
        resolve(!error && this.state === 'ready')
      }
      try {
        // Bound already, so multicast-dns encodes and sends synchronously: a throw lands here.
        transmit(done)
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)))
      }
    })
  }

  /** Idempotent; resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    this.state = 'closed'
    this.closing = new Promise((resolve) => {
      try {
        this.mdns.destroy(() => resolve())
      } catch (error) {
        this.options.log('debug', `${this.label()}: close: ${describeError(error)}`)
        resolve()
      }
    })
    return this.closing
  }

  label(): string {
    return `mdns ${this.iface.name} (${this.iface.address})`
  }

  private ready(): void {
    if (this.state !== 'binding') return
    if (this.membershipError) {
      // Deferred: multicast-dns is still inside its 'listening' handler and arms its interval after.
      const error = this.membershipError
      queueMicrotask(() => this.fail(error))
      return
    }
    this.state = 'ready'
    this.handlers.onReady(this)
  }

  private packet(kind: 'query' | 'response', packet: unknown, from: RemoteInfo): void {
    if (this.state === 'ready') this.handlers.onPacket(kind, packet, from, this)
  }

  private warning(error: Error): void {
    if (this.state === 'closed') return
    const syscall = (error as NodeJS.ErrnoException).syscall
    // Socket errors name their system call; anything else is dns-packet failing to decode a datagram.
    if (syscall === undefined) {
      this.handlers.onMalformed(this, error)
    } else if (syscall === 'addMembership' || syscall === 'setMulticastInterface') {
      // Without them this socket would hear nothing, or multicast out of the default interface
      // instead of its own: it must not be used. (Still binding: `ready` refuses it.)
      this.membershipError = error
      if (this.state === 'ready') queueMicrotask(() => this.fail(error))
    } else {
      // addMembership / setMulticastInterface on an interface that just went away (EADDRNOTAVAIL,
      // ENODEV), or a socket-level error: the interface watcher replaces the socket if it matters.
      this.options.log('debug', `${this.label()}: ${describeError(error)}`)
    }
  }

  private fail(error: Error): void {
    if (this.state === 'closed') return
    this.options.log('debug', `${this.label()}: ${describeError(error)}`)
    void this.close()
    this.handlers.onFailure(this, error)
  }

  /** Nothing that happens on this socket may throw into the event loop. */
  private guard(what: string, fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.options.log('warn', `${this.label()}: ${what} handler failed: ${describeError(error)}`)
    }
  }
}
