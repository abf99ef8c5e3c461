/**
 * An in-memory connected pair with the shape of an authenticated transport connection, for running
 * whole clusters in one process in tests (the same session code as over TCP + Noise). Delivery is
 * asynchronous (a microtask per frame) and in order, like a TCP stream; both ends share one random
 * "handshake hash", as two ends of a Noise session do.
 */
export interface MemoryConnection {
  readonly remoteKey: Uint8Array
  readonly handshakeHash: Uint8Array
  readonly remoteAddress: string
  send(frame: Uint8Array): void
  close(reason?: string): void
  onMessage(cb: (frame: Uint8Array) => void): () => void
  onClose(cb: () => void): () => void
  readonly closed: boolean
  bytesSent: number
}

export function memoryPair(
  keyA: Uint8Array,
  keyB: Uint8Array,
  handshakeHash: Uint8Array,
): [MemoryConnection, MemoryConnection] {
  const a = new End(keyB, handshakeHash, 'memory:b')
  const b = new End(keyA, handshakeHash, 'memory:a')
  a.peer = b
  b.peer = a
  return [a, b]
}

class End implements MemoryConnection {
  peer: End | null = null
  closed = false
  bytesSent = 0
  private readonly messageListeners = new Set<(frame: Uint8Array) => void>()
  private readonly closeListeners = new Set<() => void>()

  constructor(
    readonly remoteKey: Uint8Array,
    readonly handshakeHash: Uint8Array,
    readonly remoteAddress: string,
  ) {}

  send(frame: Uint8Array): void {
    if (this.closed) return
    this.bytesSent += frame.length
    const copy = frame.slice()
    const peer = this.peer
    queueMicrotask(() => {
      if (peer && !peer.closed) for (const cb of peer.messageListeners) cb(copy)
    })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    queueMicrotask(() => {
      for (const cb of this.closeListeners) cb()
      this.peer?.close()
    })
  }

  onMessage(cb: (frame: Uint8Array) => void): () => void {
    this.messageListeners.add(cb)
    return () => this.messageListeners.delete(cb)
  }

  onClose(cb: () => void): () => void {
    this.closeListeners.add(cb)
    return () => this.closeListeners.delete(cb)
  }
}
