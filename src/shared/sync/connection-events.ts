/**
 * The subscriber side of a PeerConnection, shared by every implementation (TCP, in-memory, fault
 * injection) so that they all keep the same promises: frames that arrive before the first subscriber
 * wait for it, in order; nothing is delivered after the close; the close is reported exactly once, also
 * to late subscribers; and a callback that throws never escapes into the event loop of the transport.
 */
import type { CloseInfo } from './peer-connection'

type MessageCallback = (frame: Uint8Array) => void
type CloseCallback = (info: CloseInfo) => void

export class ConnectionEvents {
  private readonly messageCallbacks = new Set<MessageCallback>()
  private readonly closeCallbacks = new Set<CloseCallback>()
  private readonly queue: Uint8Array[] = []
  private flushScheduled = false
  private info: CloseInfo | null = null

  /**
   * @param onCallbackError what to do when a subscriber throws; the owner typically logs it and closes
   *   the connection (the peer sent something the session could not handle).
   */
  constructor(private readonly onCallbackError: (error: unknown) => void) {}

  get closeInfo(): CloseInfo | null {
    return this.info
  }

  onMessage(callback: MessageCallback): () => void {
    this.messageCallbacks.add(callback)
    if (this.queue.length > 0) this.scheduleFlush()
    return () => {
      this.messageCallbacks.delete(callback)
    }
  }

  onClose(callback: CloseCallback): () => void {
    const info = this.info
    if (info !== null) {
      let active = true
      queueMicrotask(() => {
        if (active) this.call(callback, info)
      })
      return () => {
        active = false
      }
    }
    this.closeCallbacks.add(callback)
    return () => {
      this.closeCallbacks.delete(callback)
    }
  }

  /** Hands a received frame to the subscribers, or keeps it until there is one. */
  deliver(frame: Uint8Array): void {
    if (this.info !== null) return
    // While older frames wait in the queue, newer ones must queue behind them to keep the order.
    if (this.messageCallbacks.size === 0 || this.queue.length > 0) {
      this.queue.push(frame)
      if (this.messageCallbacks.size > 0) this.scheduleFlush()
      return
    }
    this.dispatch(frame)
  }

  /** Marks the connection closed and tells the subscribers; later calls do nothing. */
  close(info: CloseInfo): boolean {
    if (this.info !== null) return false
    this.info = info
    this.queue.length = 0
    this.messageCallbacks.clear()
    const callbacks = [...this.closeCallbacks]
    this.closeCallbacks.clear()
    for (const callback of callbacks) this.call(callback, info)
    return true
  }

  private dispatch(frame: Uint8Array): void {
    for (const callback of [...this.messageCallbacks]) {
      if (this.info !== null) return
      this.call(callback, frame)
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    // Asynchronously, so that a subscriber is never called back before onMessage has returned.
    queueMicrotask(() => {
      this.flushScheduled = false
      while (this.queue.length > 0 && this.messageCallbacks.size > 0 && this.info === null) {
        this.dispatch(this.queue.shift()!)
      }
    })
  }

  private call<T>(callback: (value: T) => void, value: T): void {
    try {
      callback(value)
    } catch (error) {
      this.onCallbackError(error)
    }
  }
}
