/**
 * One TCP socket wrapped in a Noise XX secret-stream, carrying frames (src/shared/sync/framing.ts) over
 * the decrypted bytes. It owns the socket's whole life: handshake, keepalive and idle timeout, the record
 * guard, frame decoding with the size cap, and a close that is reported exactly once. Whoever holds the
 * channel (the transport while it is unauthenticated, then a SecureConnection) gets its events through
 * `hooks`, which it may swap.
 */
import type { Socket } from 'node:net'
import SecretStream from '@hyperswarm/secret-stream'
import { encodeFrame, FrameDecoder, FrameError } from '../../shared/sync/framing'
import type { CloseInfo } from '../../shared/sync/peer-connection'
import { errnoOf } from './errors'
import { describeError, type NetLog } from './log'
import { MAX_RECORD, RecordGuard, WRITE_CHUNK } from './wire-guard'

export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

export interface ChannelOptions {
  readonly keyPair: KeyPair
  readonly maxFrameSize: number
  /** Bytes queued for the peer (not yet taken by the kernel) beyond which the channel is dropped. */
  readonly maxSendBuffer: number
  /** Send an empty record after this long without writing, so that the peer's idle timeout holds off. */
  readonly keepAliveMs: number
  /** Destroy the channel after this long without receiving anything (keepalives included). */
  readonly idleTimeoutMs: number
  /** How long a graceful close waits for the peer to finish before the socket is destroyed. */
  readonly lingerMs: number
  readonly log: NetLog
}

export interface ChannelHooks {
  /** The handshake is done: `remoteKey` and `handshakeHash` are set. */
  onOpen(): void
  onFrame(frame: Uint8Array): void
  /** Called once; `error` is what caused it, if anything did. */
  onClose(info: CloseInfo, error: Error | undefined): void
}

export class SecureChannel {
  /** Resolves when the socket is closed for good: nothing of this channel is left in the event loop. */
  readonly finished: Promise<void>
  private readonly noise: SecretStream
  private readonly decoder: FrameDecoder
  private readonly guard = new RecordGuard(MAX_RECORD)
  private closeInfo: CloseInfo | null = null
  private lastError: Error | undefined
  private lingerTimer: NodeJS.Timeout | null = null
  private opened = false
  /** Where the peer is: what was dialed until the socket knows better (it forgets again once closed). */
  private address: string
  private port: number

  constructor(
    private readonly socket: Socket,
    readonly initiator: boolean,
    private readonly options: ChannelOptions,
    private hooks: ChannelHooks,
    dialed?: { readonly host: string; readonly port: number },
  ) {
    this.address = socket.remoteAddress ?? dialed?.host ?? ''
    this.port = socket.remotePort ?? dialed?.port ?? 0
    this.decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize })
    // Keystrokes are tiny frames: Nagle would hold each one back for an ACK.
    socket.setNoDelay(true)
    this.finished = new Promise((resolve) => socket.once('close', () => resolve()))
    socket.once('close', () => this.onSocketClosed())

    const { publicKey, secretKey } = options.keyPair
    this.noise = new SecretStream(initiator, socket, {
      keyPair: { publicKey: Buffer.from(publicKey), secretKey: Buffer.from(secretKey) },
    })
    // secret-stream registered its own 'data' listener on the socket just now; the guard must run first.
    socket.prependListener('data', (chunk: Buffer) => this.checkRecords(chunk))
    this.noise.on('open', () => this.onOpen())
    this.noise.on('data', (chunk) => this.onData(chunk))
    this.noise.on('end', () => this.onEnd())
    this.noise.on('error', (error) => {
      this.lastError = error
    })
    this.noise.on('close', () => this.onNoiseClosed())
  }

  get remoteAddress(): string {
    return this.address
  }

  get remotePort(): number {
    return this.port
  }

  get remoteKey(): Uint8Array | null {
    return this.opened ? this.noise.remotePublicKey : null
  }

  get handshakeHash(): Uint8Array | null {
    return this.opened ? this.noise.handshakeHash : null
  }

  get closed(): boolean {
    return this.closeInfo !== null
  }

  /** Raw bytes on the wire, handshake, framing and encryption included. */
  get bytesSent(): number {
    return this.socket.bytesWritten
  }

  get bytesReceived(): number {
    return this.socket.bytesRead
  }

  /**
   * Bytes written and not yet taken by the kernel: secret-stream's queue (plaintext waiting for the
   * socket to drain) plus the socket's own (encrypted records). Grows only while the peer is not
   * reading as fast as we send.
   */
  get queuedBytes(): number {
    return (this.noise._writableState?.buffered ?? 0) + this.socket.writableLength
  }

  setHooks(hooks: ChannelHooks): void {
    this.hooks = hooks
  }

  /**
   * Throws FrameError for a frame above the cap (a caller's bug); a no-op once closed. A frame that
   * would take what is queued for the peer above `maxSendBuffer` drops the connection instead: a peer
   * that stops reading must not make us buffer without limit (it resyncs when it reconnects). The cap
   * is well above one frame, so a peer that reads, even slowly, gets every burst the node sends
   * (the largest is a sync reply of about the document's size).
   */
  send(frame: Uint8Array): void {
    const encoded = encodeFrame(frame, { maxFrameSize: this.options.maxFrameSize })
    if (this.closeInfo !== null) return
    const queued = this.queuedBytes
    if (queued + encoded.length > this.options.maxSendBuffer) {
      const mib = (n: number): string => (n / 2 ** 20).toFixed(1)
      const reason =
        `the peer is not reading: ${mib(queued)} MiB already queued for it, and ${mib(encoded.length)} ` +
        `MiB more would pass the ${mib(this.options.maxSendBuffer)} MiB cap`
      this.options.log('warn', `${this.describePeer()}: ${reason}; connection closed`)
      this.destroy(reason, new Error('send buffer full'))
      return
    }
    // Records of at most WRITE_CHUNK bytes, so that the peer's RecordGuard accepts them; the frame
    // decoder on the other side reassembles them, since framing never relies on record boundaries.
    for (let offset = 0; offset < encoded.length; offset += WRITE_CHUNK) {
      this.noise.write(encoded.subarray(offset, offset + WRITE_CHUNK))
    }
  }

  /** Graceful: what was sent is flushed, then the socket ends; destroyed anyway after `lingerMs`. */
  close(reason: string): void {
    if (!this.markClosed({ reason, local: true }, undefined)) return
    this.noise.end()
    this.lingerTimer = setTimeout(() => this.noise.destroy(), this.options.lingerMs)
    // The socket keeps the process alive until it closes; this timer only bounds how long.
    this.lingerTimer.unref()
  }

  /** At once, dropping anything unsent: for peers that misbehave, deadlines and shutdown. */
  destroy(reason: string, error?: Error): void {
    this.markClosed({ reason, local: true }, error)
    this.noise.destroy()
  }

  private checkRecords(chunk: Uint8Array): void {
    if (this.guard.accept(chunk)) return
    this.options.log(
      this.opened ? 'warn' : 'debug',
      `${this.describePeer()}: sent a record above ${MAX_RECORD} bytes; dropped (not a Meshpad peer?)`,
    )
    this.destroy(`record above ${MAX_RECORD} bytes (not a Meshpad peer?)`, new Error('record too large'))
  }

  private onOpen(): void {
    if (this.closeInfo !== null) return
    this.opened = true
    this.address = this.socket.remoteAddress ?? this.address
    this.port = this.socket.remotePort ?? this.port
    this.noise.setKeepAlive(this.options.keepAliveMs)
    this.noise.setTimeout(this.options.idleTimeoutMs)
    this.call(() => this.hooks.onOpen())
  }

  private onData(chunk: Uint8Array): void {
    if (this.closeInfo !== null) return
    let frames: Uint8Array[]
    try {
      frames = this.decoder.push(chunk)
    } catch (error) {
      const frameError = error instanceof FrameError ? error : null
      // Frames that were complete before the bad one were sent in good faith: hand them over first.
      for (const frame of frameError?.frames ?? []) {
        if (this.closeInfo !== null) return
        this.call(() => this.hooks.onFrame(frame))
      }
      const reason = `bad frame from the peer: ${describeError(error)}`
      this.options.log('warn', `${this.describePeer()}: ${reason}; connection closed`)
      this.destroy(reason, error instanceof Error ? error : undefined)
      return
    }
    for (const frame of frames) {
      if (this.closeInfo !== null) return
      this.call(() => this.hooks.onFrame(frame))
    }
  }

  private onEnd(): void {
    if (this.closeInfo !== null || this.decoder.idle) return
    this.options.log('info', `${this.describePeer()}: the stream ended inside a frame`)
  }

  private onNoiseClosed(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer)
    this.lingerTimer = null
    this.markClosed({ reason: this.remoteCloseReason(), local: false }, this.lastError)
  }

  private onSocketClosed(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer)
    this.lingerTimer = null
    // secret-stream follows its socket, but if the socket closes first the close is still reported.
    this.markClosed({ reason: this.remoteCloseReason(), local: false }, this.lastError)
    if (!this.noise.destroying) this.noise.destroy()
  }

  private markClosed(info: CloseInfo, error: Error | undefined): boolean {
    if (this.closeInfo !== null) return false
    this.closeInfo = info
    this.call(() => this.hooks.onClose(info, error))
    return true
  }

  private remoteCloseReason(): string {
    const error = this.lastError
    if (error === undefined) return 'closed by peer'
    if (error.message === 'Stream timed out') {
      return `nothing received for ${this.options.idleTimeoutMs / 1000} s: the peer is gone or unreachable`
    }
    if (error.message === 'Noise handshake failed') {
      return 'handshake failed: not a Meshpad peer, or the stream was corrupted'
    }
    if (errnoOf(error) === 'ECONNRESET') return 'connection reset by peer'
    return describeError(error)
  }

  private describePeer(): string {
    return `${this.address}:${this.port}`
  }

  /** Hooks are ours, but a bug in one must not escape into secret-stream's or the socket's handlers. */
  private call(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.options.log('warn', `${this.describePeer()}: internal error: ${describeError(error)}`)
      if (this.closeInfo === null) this.destroy(`internal error: ${describeError(error)}`)
    }
  }
}
