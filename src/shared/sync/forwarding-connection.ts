/**
 * A PeerConnection that forwards everything to another one: the base of wrappers that change one thing
 * about a link (src/main/net/fault-injection.ts: what it sends and when; tests: when frames arrive).
 */
import type { CloseInfo, PeerConnection } from './peer-connection'

export class ForwardingConnection implements PeerConnection {
  constructor(readonly inner: PeerConnection) {}

  get remoteKey(): Uint8Array {
    return this.inner.remoteKey
  }
  get handshakeHash(): Uint8Array {
    return this.inner.handshakeHash
  }
  get initiator(): boolean {
    return this.inner.initiator
  }
  get remoteAddress(): string {
    return this.inner.remoteAddress
  }
  get remotePort(): number {
    return this.inner.remotePort
  }
  get bytesSent(): number {
    return this.inner.bytesSent
  }
  get bytesReceived(): number {
    return this.inner.bytesReceived
  }
  get closed(): boolean {
    return this.inner.closed
  }

  send(frame: Uint8Array): void {
    this.inner.send(frame)
  }

  close(reason?: string): void {
    this.inner.close(reason)
  }

  onMessage(callback: (frame: Uint8Array) => void): () => void {
    return this.inner.onMessage(callback)
  }

  onClose(callback: (info: CloseInfo) => void): () => void {
    return this.inner.onClose(callback)
  }
}
