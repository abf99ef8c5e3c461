/**
 * The contract between the transport (src/main/net: TCP + Noise, or an in-memory pair in tests) and the
 * sync sessions that run over it. It lives in src/shared so that the transport-agnostic session code can
 * name it; it mentions nothing but bytes, strings and callbacks.
 *
 * One PeerConnection is one authenticated link to one other device, and there is at most one per pair of
 * devices at a time: many documents share it (the sessions multiplex on top).
 */

export interface CloseInfo {
  /** Human-readable cause, for logs and the CLI (`"closed by peer"`, `"frame above the cap"`, …). */
  readonly reason: string
  /** True when this side decided to close (close(), a bad frame, a duplicate, shutdown). */
  readonly local: boolean
}

export interface PeerConnection {
  /** The remote device's Ed25519 public key (32 bytes), proven by the handshake. */
  readonly remoteKey: Uint8Array
  /**
   * The Noise handshake hash (64 bytes), equal on both ends and unique to this connection: what proofs
   * are bound to so that they cannot be replayed on, or relayed to, another connection.
   */
  readonly handshakeHash: Uint8Array
  /** True on the side that dialed. */
  readonly initiator: boolean
  readonly remoteAddress: string
  readonly remotePort: number
  /** Bytes on the wire so far, encryption and framing included (for measurements). */
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly closed: boolean
  /**
   * Queues one frame. Frames arrive whole and in order, or the connection closes. A no-op once closed;
   * throws a `FrameError` ('FRAME_TOO_LARGE') for a frame above the connection's cap.
   * The frame must not be modified after the call.
   */
  send(frame: Uint8Array): void
  /** Idempotent. Frames already queued are still flushed to the peer; nothing is delivered after it. */
  close(reason?: string): void
  /**
   * Frames that arrive before the first subscriber are kept for it, so nothing is lost between the
   * connection's announcement and the subscription. A callback that throws closes this connection.
   */
  onMessage(callback: (frame: Uint8Array) => void): () => void
  /** Called once. Subscribing after the close still gets the call (asynchronously). */
  onClose(callback: (info: CloseInfo) => void): () => void
}
