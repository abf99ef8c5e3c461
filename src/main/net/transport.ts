/**
 * The TCP side of the peer node: a listener and a dialer whose every socket is a Noise XX SecureChannel
 * keyed with the device key. A connection is announced (`onConnection`) only once it is authenticated,
 * is not a connection to this device itself, and has won the pair's de-duplication (pairing.ts), so the
 * node sees at most one PeerConnection per remote device, and the same TCP connection as that device.
 *
 * Until then a socket is "pending": it has `handshakeTimeoutMs` to get through the handshake and the
 * pairing exchange, and at most `maxPendingSockets` inbound ones may be pending at a time, of which at
 * most `maxPendingPerAddress` from one address, so strangers cannot hold more than a bounded amount of
 * memory. A newcomer is never refused for that: it takes the place of a pending socket chosen so that
 * a flood of half-open sockets cannot starve an honest peer (pending-budget.ts).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { copyOf, DEFAULT_MAX_FRAME_SIZE } from '../../shared/sync/framing'
import type { CloseInfo, PeerConnection } from '../../shared/sync/peer-connection'
import { deviceIdOf } from './device-key'
import { dialError, errnoOf, listenError, NetError } from './errors'
import { defaultNetLog, describeError, type NetLog } from './log'
import { decodeControl, encodeProposal, encodeVerdict, isArbiter, keepExisting, sameBytes } from './pairing'
import { addressGroup, pickVictim } from './pending-budget'
import { SecureChannel, type ChannelOptions, type KeyPair } from './secure-channel'
import { SecureConnection } from './secure-connection'

export interface TransportOptions {
  /** The device key pair (device-key.ts); its public key is this device's identity to peers. */
  readonly keyPair: KeyPair
  /** Largest frame payload accepted and sent, in bytes (default 8 MiB). */
  readonly maxFrameSize?: number
  /** Time from socket creation to an announced connection: connect, handshake, pairing (default 5 s). */
  readonly handshakeTimeoutMs?: number
  /**
   * Inbound sockets allowed to be pending at once (default 256); one more takes the place of the one
   * `pickVictim` (pending-budget.ts) chooses.
   */
  readonly maxPendingSockets?: number
  /** Of those, from one address (IPv6: one /64) (default 8); one more replaces that address's oldest. */
  readonly maxPendingPerAddress?: number
  /**
   * Bytes queued for a peer that is not reading them, beyond which its connection is dropped
   * (default 32 MiB, four 8 MiB frames); see SecureChannel.send.
   */
  readonly maxSendBuffer?: number
  /** Empty record after this long without writing (default 10 s). */
  readonly keepAliveMs?: number
  /** Close a connection after this long without receiving anything (default 30 s). */
  readonly idleTimeoutMs?: number
  /** How long a graceful close waits for the peer before destroying the socket (default 2 s). */
  readonly closeLingerMs?: number
  readonly log?: NetLog
}

export interface ListenOptions {
  /** Default 0: any free port (read it back from the result or `port`). */
  readonly port?: number
  /** Default 0.0.0.0: every IPv4 interface. */
  readonly host?: string
}

export interface DialOptions {
  /** Local address to dial from (default: the system's choice). */
  readonly localAddress?: string
}

type Stage = 'handshake' | 'awaiting-proposal' | 'queued' | 'proposed'

interface DialRequest {
  readonly host: string
  readonly port: number
  readonly resolve: (connection: PeerConnection) => void
  readonly reject: (error: NetError) => void
  settled: boolean
}

interface Pending {
  readonly channel: SecureChannel
  readonly inbound: boolean
  readonly deadline: NodeJS.Timeout
  readonly dial: DialRequest | null
  /** addressGroup() of the remote address (inbound sockets: what the per-address budget counts). */
  readonly group: string
  /** Order of arrival, for the pending budget (smaller is older). */
  readonly seq: number
  stage: Stage
  /** Hex of the remote public key, once the handshake is done. */
  remote: string
}

/** How far a pending socket got, for the pending budget: nothing received, handshake begun, done. */
const progressOf = (p: Pending): number => (p.stage !== 'handshake' ? 2 : p.channel.bytesReceived > 0 ? 1 : 0)

/** At most one line a period about sockets dropped for the budget: a flood would fill the log. */
const EVICTION_LOG_MS = 10_000

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

export class Transport {
  readonly publicKey: Uint8Array
  readonly deviceId: string
  private readonly channelOptions: ChannelOptions
  private readonly handshakeTimeoutMs: number
  private readonly maxPendingSockets: number
  private readonly maxPendingPerAddress: number
  private readonly log: NetLog
  private server: Server | null = null
  private boundPort: number | null = null
  private readonly pending = new Set<Pending>()
  private inboundPending = 0
  /** Inbound pending sockets per address group. */
  private readonly pendingPerGroup = new Map<string, number>()
  private nextSeq = 0
  private refusedSockets = 0
  private evictedSockets = 0
  private evictionsLogged = 0
  private evictionLogAt = -Infinity
  /** The announced connection per remote device (hex key). */
  private readonly peers = new Map<string, SecureConnection>()
  /** Per arbiter (hex key): our connections waiting to propose, the head one proposed. */
  private readonly proposals = new Map<string, Pending[]>()
  /** Every channel not yet finished, announced or not, so that close() can wait for all of them. */
  private readonly channels = new Set<SecureChannel>()
  private readonly connectionCallbacks = new Set<(connection: PeerConnection) => void>()
  private closing: Promise<void> | null = null

  constructor(options: TransportOptions) {
    this.publicKey = copyOf(options.keyPair.publicKey)
    this.deviceId = deviceIdOf(this.publicKey)
    this.log = options.log ?? defaultNetLog
    this.handshakeTimeoutMs = positive('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 5_000)
    this.maxPendingSockets = positive('maxPendingSockets', options.maxPendingSockets ?? 256)
    this.maxPendingPerAddress = positive('maxPendingPerAddress', options.maxPendingPerAddress ?? 8)
    this.channelOptions = {
      keyPair: options.keyPair,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      maxSendBuffer: positive('maxSendBuffer', options.maxSendBuffer ?? 32 * 2 ** 20),
      keepAliveMs: positive('keepAliveMs', options.keepAliveMs ?? 10_000),
      idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs ?? 30_000),
      lingerMs: positive('closeLingerMs', options.closeLingerMs ?? 2_000),
      log: this.log,
    }
    if (this.channelOptions.keepAliveMs >= this.channelOptions.idleTimeoutMs) {
      throw new RangeError('keepAliveMs must be below idleTimeoutMs, or idle connections would time out')
    }
  }

  /** The port the listener is bound to, null when not listening. */
  get port(): number | null {
    return this.boundPort
  }

  /**
   * Inbound sockets not yet announced; how many were refused (the transport was closing); how many
   * pending ones were dropped to make room for a newer one (the budgets in pending-budget.ts).
   */
  get pendingStats(): { readonly inbound: number; readonly refused: number; readonly evicted: number } {
    return { inbound: this.inboundPending, refused: this.refusedSockets, evicted: this.evictedSockets }
  }

  /** The announced, open connections. */
  connections(): PeerConnection[] {
    return [...this.peers.values()].filter((c) => !c.closed)
  }

  connectionTo(remoteKey: Uint8Array): PeerConnection | undefined {
    const connection = this.peers.get(hex(remoteKey))
    return connection?.closed === false ? connection : undefined
  }

  /** Called for every announced connection, inbound or dialed. */
  onConnection(callback: (connection: PeerConnection) => void): () => void {
    this.connectionCallbacks.add(callback)
    return () => {
      this.connectionCallbacks.delete(callback)
    }
  }

  /** Starts the listener; resolves with the bound port. Throws NetError (ADDRESS_IN_USE…) on failure. */
  listen(options: ListenOptions = {}): Promise<number> {
    const host = options.host ?? '0.0.0.0'
    const port = options.port ?? 0
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`port must be an integer in [0, 65535], got ${port}`)
    }
    if (this.server !== null) throw new Error('Transport.listen: already listening')
    if (this.closing !== null) return Promise.reject(closedError())
    const server = createServer((socket) => this.onInbound(socket))
    this.server = server
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        if (this.server === server) this.server = null
        reject(listenError(error, host, port))
      }
      server.once('error', onError)
      server.listen({ port, host }, () => {
        server.off('error', onError)
        server.on('error', (error) =>
          this.log('warn', `listener on ${host}:${port}: ${describeError(error)}`),
        )
        if (this.closing !== null) return reject(closedError())
        this.boundPort = (server.address() as AddressInfo).port
        this.log('info', `listening on ${host}:${this.boundPort} as ${this.deviceId}`)
        resolve(this.boundPort)
      })
    })
  }

  /**
   * Connects to host:port and resolves with the connection to the device found there, which is the
   * existing one if this device already had a connection with it (the new socket was a duplicate).
   * Rejects with a NetError: CONNECTION_REFUSED, HOST_UNREACHABLE, TIMEOUT, HANDSHAKE_FAILED, …
   */
  dial(host: string, port: number, options: DialOptions = {}): Promise<PeerConnection> {
    if (typeof host !== 'string' || host === '') {
      throw new TypeError('Transport.dial: host must be a non-empty string')
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Transport.dial: port must be an integer in [1, 65535], got ${port}`)
    }
    if (this.closing !== null) return Promise.reject(closedError())
    return new Promise((resolve, reject) => {
      const dial: DialRequest = { host, port, resolve, reject, settled: false }
      const local = options.localAddress !== undefined ? { localAddress: options.localAddress } : {}
      this.adopt(connect({ host, port, ...local }), dial)
    })
  }

  /** Idempotent. Refuses new sockets, closes every socket (announced ones gracefully) and waits for all. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    const server = this.server
    this.server = null
    this.boundPort = null
    const serverClosed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    for (const p of [...this.pending]) p.channel.destroy('transport closed', closedError())
    for (const connection of [...this.peers.values()]) connection.close('transport closed')
    await Promise.all([serverClosed, ...[...this.channels].map((c) => c.finished)])
  }

  private onInbound(socket: Socket): void {
    if (this.closing !== null) {
      this.refusedSockets++
      socket.on('error', () => undefined)
      socket.destroy()
      this.log('debug', `refused ${socket.remoteAddress}:${socket.remotePort}: the transport is closing`)
      return
    }
    try {
      this.makeRoom(addressGroup(socket.remoteAddress ?? ''))
      this.adopt(socket, null)
    } catch (error) {
      // A socket that died between accept and here; never let it escape into the server's handler.
      this.log('debug', `could not take an inbound socket: ${describeError(error)}`)
      socket.destroy()
    }
  }

  /**
   * Before a new inbound socket from `group` is taken: if it would be one too many for its address,
   * that address's oldest pending socket goes; else if it would be one too many overall, the one
   * pickVictim chooses goes (see pending-budget.ts for why these and not the newcomer).
   */
  private makeRoom(group: string): void {
    let victim: Pending | undefined
    let why: string
    if ((this.pendingPerGroup.get(group) ?? 0) >= this.maxPendingPerAddress) {
      for (const p of this.pending) {
        if (p.inbound && p.group === group && (victim === undefined || p.seq < victim.seq)) victim = p
      }
      why = `${this.maxPendingPerAddress} pending sockets from ${group}`
    } else if (this.inboundPending >= this.maxPendingSockets) {
      const counts = new Map(this.pendingPerGroup)
      counts.set(group, (counts.get(group) ?? 0) + 1)
      const candidates = [...this.pending]
        .filter((p) => p.inbound)
        .map((p) => ({ p, group: p.group, seq: p.seq, progress: progressOf(p) }))
      victim = pickVictim(candidates, counts)?.p
      why = `${this.maxPendingSockets} pending sockets`
    } else {
      return
    }
    if (victim === undefined) return
    this.evictedSockets++
    const where = `${victim.channel.remoteAddress}:${victim.channel.remotePort}`
    victim.channel.destroy(
      `dropped for a newer socket: ${why}`,
      new NetError('TIMEOUT', `${where} did not complete the handshake before newer sockets needed room.`),
    )
    const now = Date.now()
    if (now - this.evictionLogAt >= EVICTION_LOG_MS) {
      this.log(
        'info',
        `pending sockets over budget (${why}): ${this.evictedSockets - this.evictionsLogged} dropped ` +
          `for newer ones, e.g. ${where} (a flood of unauthenticated connections?)`,
      )
      this.evictionsLogged = this.evictedSockets
      this.evictionLogAt = now
    }
  }

  private adopt(socket: Socket, dial: DialRequest | null): void {
    const inbound = dial === null
    // The hooks name `p`, declared below: they only run from socket events, after this returns.
    const channel: SecureChannel = new SecureChannel(
      socket,
      !inbound,
      this.channelOptions,
      {
        onOpen: () => this.onAuthenticated(p),
        onFrame: (frame) => this.onControlFrame(p, frame),
        onClose: (info, error) => this.onPendingClosed(p, info, error),
      },
      dial ?? undefined,
    )
    const deadline = setTimeout(() => {
      // Timers run before I/O callbacks: after a stall of the event loop, bytes that arrived in time may
      // still be waiting in the socket. They are read first (setImmediate runs after the I/O phase).
      setImmediate(() => {
        if (!this.pending.has(p)) return
        const where = `${channel.remoteAddress}:${channel.remotePort}`
        channel.destroy(
          `no handshake within ${this.handshakeTimeoutMs} ms`,
          new NetError(
            'TIMEOUT',
            `${where} did not complete the handshake within ${this.handshakeTimeoutMs} ms.`,
          ),
        )
      })
    }, this.handshakeTimeoutMs)
    const group = addressGroup(channel.remoteAddress)
    const p: Pending = {
      channel,
      inbound,
      deadline,
      dial,
      group,
      seq: this.nextSeq++,
      stage: 'handshake',
      remote: '',
    }
    this.pending.add(p)
    if (inbound) {
      this.inboundPending++
      this.pendingPerGroup.set(group, (this.pendingPerGroup.get(group) ?? 0) + 1)
    }
    this.channels.add(channel)
    void channel.finished.then(() => this.channels.delete(channel))
  }

  private onAuthenticated(p: Pending): void {
    const remoteKey = p.channel.remoteKey!
    if (sameBytes(remoteKey, this.publicKey)) {
      const where = `${p.channel.remoteAddress}:${p.channel.remotePort}`
      p.channel.destroy(
        'connected to itself',
        new NetError('SELF_CONNECTION', `${where} is this device itself.`),
      )
      return
    }
    p.remote = hex(remoteKey)
    if (isArbiter(this.publicKey, remoteKey)) {
      p.stage = 'awaiting-proposal'
      return
    }
    const queue = this.proposals.get(p.remote) ?? []
    queue.push(p)
    this.proposals.set(p.remote, queue)
    p.stage = 'queued'
    if (queue.length === 1) this.propose(p)
  }

  private propose(p: Pending): void {
    const live = this.peers.get(p.remote)
    p.stage = 'proposed'
    p.channel.send(encodeProposal(live !== undefined && !live.closed ? live.handshakeHash : null))
  }

  private onControlFrame(p: Pending, frame: Uint8Array): void {
    const control = decodeControl(frame)
    if (control.type === 'invalid') {
      this.log('info', `${p.channel.remoteAddress}:${p.channel.remotePort}: ${control.reason}`)
      p.channel.destroy(
        control.reason,
        new NetError('HANDSHAKE_FAILED', `The peer failed: ${control.reason}.`),
      )
      return
    }
    if (p.stage === 'awaiting-proposal' && control.type === 'propose') {
      const existing = this.peers.get(p.remote)
      if (existing !== undefined && !existing.closed && keepExisting(existing.handshakeHash, control.live)) {
        p.channel.send(encodeVerdict(false))
        this.settle(p, existing)
        p.channel.close('duplicate of the existing connection')
        return
      }
      p.channel.send(encodeVerdict(true))
      this.promote(p)
      return
    }
    if (p.stage === 'proposed' && control.type === 'verdict') {
      if (control.accept) {
        this.promote(p)
        return
      }
      const live = this.peers.get(p.remote)
      if (live !== undefined && !live.closed) this.settle(p, live)
      p.channel.close('duplicate of the existing connection')
      return
    }
    p.channel.destroy(
      `unexpected ${control.type} frame`,
      new NetError('HANDSHAKE_FAILED', `The peer sent an unexpected ${control.type} frame.`),
    )
  }

  /** The connection won: it replaces any older one with the same device and is announced. */
  private promote(p: Pending): void {
    this.retire(p)
    const old = this.peers.get(p.remote)
    if (old !== undefined && !old.closed) old.close('superseded by a newer connection')
    const connection = new SecureConnection(p.channel, deviceIdOf(p.channel.remoteKey!), this.log)
    const where = `${connection.remoteAddress}:${connection.remotePort}`
    this.peers.set(p.remote, connection)
    connection.onClose((info: CloseInfo) => {
      if (this.peers.get(p.remote) === connection) this.peers.delete(p.remote)
      this.log('info', `connection with ${connection.remoteDeviceId} (${where}) closed: ${info.reason}`)
    })
    this.log(
      'info',
      `connected with ${connection.remoteDeviceId} (${where}, ${p.inbound ? 'inbound' : 'dialed'})`,
    )
    this.settle(p, connection)
    for (const callback of [...this.connectionCallbacks]) {
      try {
        callback(connection)
      } catch (error) {
        this.log('warn', `connection handler failed: ${describeError(error)}; connection closed`)
        connection.close(`connection handler failed: ${describeError(error)}`)
      }
    }
    this.nextProposal(p)
  }

  private onPendingClosed(p: Pending, info: CloseInfo, error: Error | undefined): void {
    if (!this.pending.has(p)) return
    this.retire(p)
    this.nextProposal(p)
    const where = `${p.channel.remoteAddress}:${p.channel.remotePort}`
    this.log(
      'debug',
      `${p.inbound ? 'inbound' : 'outbound'} socket ${where} closed before use: ${info.reason}`,
    )
    if (p.dial === null || p.dial.settled) return
    p.dial.settled = true
    p.dial.reject(this.dialFailure(p, info, error))
  }

  private dialFailure(p: Pending, info: CloseInfo, error: Error | undefined): NetError {
    const { host, port } = p.dial!
    if (error instanceof NetError) return error
    if (error !== undefined && errnoOf(error) !== undefined) {
      return dialError(error, host, port)
    }
    if (p.stage === 'handshake' && error !== undefined) {
      return new NetError('HANDSHAKE_FAILED', `${host}:${port} is not a Meshpad peer: ${info.reason}.`, {
        cause: error,
      })
    }
    if (p.stage === 'proposed' && info.local) {
      return new NetError(
        'DUPLICATE',
        `${host}:${port} kept another connection with this device, now closed.`,
      )
    }
    return new NetError(
      'CONNECTION_RESET',
      `${host}:${port} closed the connection during setup: ${info.reason}.`,
      {
        cause: error,
      },
    )
  }

  /** No longer pending: its deadline and its place under the cap are released. */
  private retire(p: Pending): void {
    if (!this.pending.delete(p)) return
    clearTimeout(p.deadline)
    if (!p.inbound) return
    this.inboundPending--
    const left = (this.pendingPerGroup.get(p.group) ?? 1) - 1
    if (left > 0) this.pendingPerGroup.set(p.group, left)
    else this.pendingPerGroup.delete(p.group)
  }

  /** `p` has had its verdict or is gone: the next connection queued for the same arbiter proposes. */
  private nextProposal(p: Pending): void {
    const queue = this.proposals.get(p.remote)
    if (queue === undefined) return
    const index = queue.indexOf(p)
    if (index === -1) return
    queue.splice(index, 1)
    if (queue.length === 0) {
      this.proposals.delete(p.remote)
      return
    }
    if (index === 0 && queue[0]!.stage === 'queued') this.propose(queue[0]!)
  }

  private settle(p: Pending, connection: PeerConnection): void {
    if (p.dial === null || p.dial.settled) return
    p.dial.settled = true
    p.dial.resolve(connection)
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}

const closedError = (): NetError => new NetError('CLOSED', 'The transport was closed.')
