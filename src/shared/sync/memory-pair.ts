/**
 * Two PeerConnections joined in memory: what tests use to run sessions, whole clusters of them, in one
 * process without sockets. It keeps the TCP transport's observable behaviour: delivery is asynchronous
 * and ordered, frames are copied, the size cap throws on send, a close reaches the other side after the
 * frames sent before it.
 */
import { ConnectionEvents } from './connection-events'
import { copyOf, DEFAULT_MAX_FRAME_SIZE, FrameError, frameHeaderSize } from './framing'
import type { CloseInfo, PeerConnection } from './peer-connection'

export interface MemoryPairOptions {
  /** Public keys of the two ends (default: two fixed, distinct 32-byte keys). */
  readonly keys?: readonly [Uint8Array, Uint8Array]
  /** Shared by both ends (default: 64 bytes derived from a counter, unique per pair in this process). */
  readonly handshakeHash?: Uint8Array
  readonly maxFrameSize?: number
}

let pairCounter = 0

class MemoryConnection implements PeerConnection {
  peer: MemoryConnection | null = null
  bytesSent = 0
  bytesReceived = 0
  readonly remotePort = 0
  readonly remoteAddress = 'memory'
  private readonly events = new ConnectionEvents((error) =>
    this.close(`message handler failed: ${error instanceof Error ? error.message : String(error)}`),
  )

  constructor(
    readonly remoteKey: Uint8Array,
    readonly handshakeHash: Uint8Array,
    readonly initiator: boolean,
    private readonly maxFrameSize: number,
  ) {}

  get closed(): boolean {
    return this.events.closeInfo !== null
  }

  send(frame: Uint8Array): void {
    if (frame.length > this.maxFrameSize) {
      throw new FrameError('FRAME_TOO_LARGE', `frame of ${frame.length} bytes is above the cap`)
    }
    if (this.closed) return
    const copy = copyOf(frame)
    const wire = frameHeaderSize(copy.length) + copy.length
    this.bytesSent += wire
    const peer = this.peer!
    queueMicrotask(() => {
      if (peer.closed) return
      peer.bytesReceived += wire
      peer.events.deliver(copy)
    })
  }

  close(reason = 'closed'): void {
    if (!this.events.close({ reason, local: true })) return
    const peer = this.peer!
    // Behind the frames already in flight, as FIN follows data on a socket.
    queueMicrotask(() => peer.closedByPeer({ reason: 'closed by peer', local: false }))
  }

  onMessage(callback: (frame: Uint8Array) => void): () => void {
    return this.events.onMessage(callback)
  }

  onClose(callback: (info: CloseInfo) => void): () => void {
    return this.events.onClose(callback)
  }

  private closedByPeer(info: CloseInfo): void {
    this.events.close(info)
  }
}

export function createConnectedPair(options: MemoryPairOptions = {}): [PeerConnection, PeerConnection] {
  const n = ++pairCounter
  const [keyA, keyB] = options.keys ?? [new Uint8Array(32).fill(0xa1), new Uint8Array(32).fill(0xb2)]
  const hash = options.handshakeHash ?? Uint8Array.from({ length: 64 }, (_, i) => (n * 131 + i * 7) & 0xff)
  const cap = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE
  const a = new MemoryConnection(keyB, hash, true, cap)
  const b = new MemoryConnection(keyA, hash, false, cap)
  a.peer = b
  b.peer = a
  return [a, b]
}
