/**
 * Shared by the transport tests: transports on 127.0.0.1 only, with a fresh key, a log collector, and
 * tracking so that every test can close what it made.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import type { CloseInfo, PeerConnection } from '../../../src/shared/sync/peer-connection'
import { generateKeyPair } from '../../../src/main/net/device-key'
import type { NetLogLevel } from '../../../src/main/net/log'
import { Transport, type TransportOptions } from '../../../src/main/net/transport'

export const HOST = '127.0.0.1'

export interface LogLine {
  readonly level: NetLogLevel
  readonly message: string
}

export interface TestTransport {
  readonly transport: Transport
  readonly port: number
  readonly logs: LogLine[]
  /** Every connection announced so far. */
  readonly announced: PeerConnection[]
}

export class Cleanup {
  private readonly transports: Transport[] = []
  private readonly sockets: Socket[] = []

  async transport(options: Partial<TransportOptions> = {}, listen = true): Promise<TestTransport> {
    const logs: LogLine[] = []
    const transport = new Transport({
      keyPair: generateKeyPair(),
      log: (level, message) => logs.push({ level, message }),
      ...options,
    })
    this.transports.push(transport)
    const announced: PeerConnection[] = []
    transport.onConnection((c) => announced.push(c))
    const port = listen ? await transport.listen({ host: HOST, port: 0 }) : 0
    return { transport, port, logs, announced }
  }

  track(transport: Transport): Transport {
    this.transports.push(transport)
    return transport
  }

  /** A plain TCP socket to 127.0.0.1:port (from `localAddress`, e.g. 127.0.0.7), connected. */
  async rawSocket(port: number, localAddress?: string): Promise<Socket> {
    const socket = connect({ host: HOST, port, ...(localAddress !== undefined ? { localAddress } : {}) })
    socket.on('error', () => undefined)
    this.sockets.push(socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    return socket
  }

  async closeAll(): Promise<void> {
    for (const socket of this.sockets.splice(0)) socket.destroy()
    await Promise.all(this.transports.splice(0).map((t) => t.close()))
  }
}

export function nextConnection(transport: Transport): Promise<PeerConnection> {
  return new Promise((resolve) => {
    const stop = transport.onConnection((c) => {
      stop()
      resolve(c)
    })
  })
}

export function nextMessage(connection: PeerConnection): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const stop = connection.onMessage((frame) => {
      stop()
      resolve(frame)
    })
  })
}

export function messages(connection: PeerConnection, count: number): Promise<Uint8Array[]> {
  const received: Uint8Array[] = []
  return new Promise((resolve) => {
    const stop = connection.onMessage((frame) => {
      received.push(frame)
      if (received.length < count) return
      stop()
      resolve(received)
    })
  })
}

export function closeOf(connection: PeerConnection): Promise<CloseInfo> {
  return new Promise((resolve) => connection.onClose(resolve))
}

export function socketClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.closed) resolve()
    else socket.once('close', () => resolve())
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length &&
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.length),
    Buffer.from(b.buffer, b.byteOffset, b.length),
  ) === 0

/** Handles (sockets, servers, timers) the event loop holds, by kind. */
export function activeHandles(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

/**
 * A TCP relay on 127.0.0.1 in front of `port`, for a peer that stops reading: `stall()` stops reading
 * what the server sends (the server's writes then pile up in its own process), while what the client
 * sends still goes through.
 */
export interface StallingProxy {
  readonly port: number
  stall(): void
  close(): Promise<void>
}

export async function stallingProxy(port: number): Promise<StallingProxy> {
  const upstreams: Socket[] = []
  const sockets: Socket[] = []
  let stalled = false
  const server = createServer((client) => {
    const upstream = connect({ host: HOST, port })
    for (const s of [client, upstream]) {
      s.on('error', () => undefined)
      s.on('close', () => {
        client.destroy()
        upstream.destroy()
      })
      sockets.push(s)
    }
    upstreams.push(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    if (stalled) upstream.pause()
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => {
      stalled = true
      for (const upstream of upstreams) {
        upstream.unpipe()
        upstream.pause()
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
