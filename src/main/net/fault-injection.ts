/**
 * A PeerConnection wrapper that makes the network worse on purpose, for tests and for the CLI's
 * `--delay <ms>` and `--loss <0..1>`. It acts on the frames this side sends (wrap both ends of a link
 * to disturb both directions); received frames and the close pass through untouched.
 *
 * Per frame sent, in this order: lost with probability `loss`; otherwise delivered after
 * `delayMs + U[0, jitterMs)`, plus `reorderDelayMs` with probability `reorder` (so that frames sent
 * after it overtake it; jitter alone already reorders); and with probability `duplicate` a second copy
 * follows with its own delay. All randomness comes from one seeded PRNG, so a run can be replayed.
 */
import { copyOf } from '../../shared/sync/framing'
import { ForwardingConnection } from '../../shared/sync/forwarding-connection'
import type { PeerConnection } from '../../shared/sync/peer-connection'
import { seededRandom, type Random } from '../../shared/random'

export interface FaultOptions {
  /** Fixed delay added to every frame, in ms. */
  readonly delayMs?: number
  /** Plus a uniform random delay in [0, jitterMs). */
  readonly jitterMs?: number
  /** Probability that a frame is dropped. */
  readonly loss?: number
  /** Probability that a frame is sent twice. */
  readonly duplicate?: number
  /** Probability that a frame is held back by `reorderDelayMs` more. */
  readonly reorder?: number
  /** Default: delayMs + jitterMs + 10, enough for the next frames to overtake. */
  readonly reorderDelayMs?: number
  /** Seed of the PRNG (default: random, and reported in `seed`). */
  readonly seed?: number
}

export interface FaultStats {
  /** send() calls. */
  sent: number
  /** Frames handed to the real connection (copies included). */
  delivered: number
  dropped: number
  duplicated: number
  reordered: number
  /** Smallest and largest delay applied, in ms (NaN until something was scheduled). */
  minDelayMs: number
  maxDelayMs: number
}

export class FaultyConnection extends ForwardingConnection {
  readonly seed: number
  readonly stats: FaultStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    minDelayMs: Number.NaN,
    maxDelayMs: Number.NaN,
  }
  private readonly random: Random
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly delayMs: number
  private readonly jitterMs: number
  private readonly loss: number
  private readonly duplicate: number
  private readonly reorder: number
  private readonly reorderDelayMs: number
  private readonly stopWatching: () => void

  constructor(inner: PeerConnection, options: FaultOptions = {}) {
    super(inner)
    this.delayMs = nonNegative('delayMs', options.delayMs ?? 0)
    this.jitterMs = nonNegative('jitterMs', options.jitterMs ?? 0)
    this.loss = probability('loss', options.loss ?? 0)
    this.duplicate = probability('duplicate', options.duplicate ?? 0)
    this.reorder = probability('reorder', options.reorder ?? 0)
    this.reorderDelayMs = nonNegative(
      'reorderDelayMs',
      options.reorderDelayMs ?? this.delayMs + this.jitterMs + 10,
    )
    this.seed = options.seed ?? Math.floor(Math.random() * 0x1_0000_0000)
    this.random = seededRandom(this.seed)
    // Frames still held when the link closes would be sent into a closed connection: drop them now.
    this.stopWatching = inner.onClose(() => this.clearTimers())
  }

  /** Frames waiting for their delay. */
  get inFlight(): number {
    return this.timers.size
  }

  override send(frame: Uint8Array): void {
    if (this.closed) return
    this.stats.sent++
    if (this.random() < this.loss) {
      this.stats.dropped++
      return
    }
    // Copied now: the caller may reuse its buffer once send() returns, as with the real transport.
    const copy = copyOf(frame)
    this.schedule(copy, this.random() < this.reorder)
    if (this.random() < this.duplicate) {
      this.stats.duplicated++
      this.schedule(copy, false)
    }
  }

  override close(reason?: string): void {
    this.clearTimers()
    this.stopWatching()
    this.inner.close(reason)
  }

  private schedule(frame: Uint8Array, holdBack: boolean): void {
    let delay = this.delayMs + this.random() * this.jitterMs
    if (holdBack) {
      delay += this.reorderDelayMs
      this.stats.reordered++
    }
    this.stats.minDelayMs = Number.isNaN(this.stats.minDelayMs)
      ? delay
      : Math.min(this.stats.minDelayMs, delay)
    this.stats.maxDelayMs = Number.isNaN(this.stats.maxDelayMs)
      ? delay
      : Math.max(this.stats.maxDelayMs, delay)
    if (delay === 0 && this.timers.size === 0) {
      // No delay and nothing queued ahead: send in place, which keeps the order and costs no timer.
      this.deliver(frame)
      return
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.deliver(frame)
    }, delay)
    this.timers.add(timer)
  }

  private deliver(frame: Uint8Array): void {
    if (this.inner.closed) return
    try {
      this.inner.send(frame)
      this.stats.delivered++
    } catch (error) {
      // Usually called from a timer, where a throw would be uncaught. The real send would have thrown
      // to its caller (a frame above the cap); here the frame counts as lost and the link is closed.
      this.stats.dropped++
      this.inner.close(
        `fault injection could not send: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }
}

export function withFaults(connection: PeerConnection, options: FaultOptions = {}): FaultyConnection {
  return new FaultyConnection(connection, options)
}

function probability(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`)
  return value
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0))
    throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`)
  return value
}
