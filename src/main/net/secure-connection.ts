/**
 * The PeerConnection the transport announces: an authenticated SecureChannel that won the pair's
 * de-duplication, with the subscriber semantics every PeerConnection shares (ConnectionEvents).
 */
import { ConnectionEvents } from '../../shared/sync/connection-events'
import { copyOf } from '../../shared/sync/framing'
import type { CloseInfo, PeerConnection } from '../../shared/sync/peer-connection'
import { describeError, type NetLog } from './log'
import type { SecureChannel } from './secure-channel'

export class SecureConnection implements PeerConnection {
  readonly remoteKey: Uint8Array
  readonly handshakeHash: Uint8Array
  readonly initiator: boolean
  readonly remoteAddress: string
  readonly remotePort: number
  private readonly events: ConnectionEvents

  constructor(
    private readonly channel: SecureChannel,
    readonly remoteDeviceId: string,
    log: NetLog,
  ) {
    // Plain copies: secret-stream hands out Buffers, whose `slice` shares memory and whose equality
    // differs from Uint8Array's in tests; the contract promises Uint8Array.
    this.remoteKey = copyOf(channel.remoteKey!)
    this.handshakeHash = copyOf(channel.handshakeHash!)
    this.initiator = channel.initiator
    this.remoteAddress = channel.remoteAddress
    this.remotePort = channel.remotePort
    this.events = new ConnectionEvents((error) => {
      const reason = `message handler failed: ${describeError(error)}`
      log(
        'warn',
        `${remoteDeviceId} (${this.remoteAddress}:${this.remotePort}): ${reason}; connection closed`,
      )
      this.channel.destroy(reason)
    })
    channel.setHooks({
      onOpen: () => undefined,
      onFrame: (frame) => this.events.deliver(frame),
      onClose: (info) => this.events.close(info),
    })
  }

  get bytesSent(): number {
    return this.channel.bytesSent
  }

  get bytesReceived(): number {
    return this.channel.bytesReceived
  }

  get closed(): boolean {
    return this.channel.closed
  }

  /** Resolves once the socket is gone (used by Transport.close()). */
  get finished(): Promise<void> {
    return this.channel.finished
  }

  send(frame: Uint8Array): void {
    this.channel.send(frame)
  }

  close(reason = 'closed'): void {
    this.channel.close(reason)
  }

  onMessage(callback: (frame: Uint8Array) => void): () => void {
    return this.events.onMessage(callback)
  }

  onClose(callback: (info: CloseInfo) => void): () => void {
    return this.events.onClose(callback)
  }
}
