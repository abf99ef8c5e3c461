/**
 * Keeps a set of wanted addresses connected. Each address is dialed at once, then, whenever the dial
 * fails or the connection closes, again after an exponential backoff with full jitter (a random delay
 * in [0, min(max, initial · 2^n)]), so that peers that lost each other at the same moment do not all
 * retry in step. The backoff starts over once a connection has stayed up for `stableAfterMs`; a
 * connection that keeps dropping right away keeps backing off.
 *
 * It only dials: the connections belong to the transport and the node. `unwant` stops the retries
 * without closing anything, and `close()` stops everything.
 */
import type { PeerConnection } from '../../shared/sync/peer-connection'
import { NetError } from './errors'
import { defaultNetLog, describeError, type NetLog } from './log'

export interface Dialer {
  dial(host: string, port: number): Promise<PeerConnection>
}

export interface ReconnectOptions {
  /** Ceiling of the first retry delay (default 250 ms); it doubles with each failure. */
  readonly initialDelayMs?: number
  /** Highest ceiling (default 30 s). */
  readonly maxDelayMs?: number
  /** A connection that lasted this long resets the backoff (default 10 s). */
  readonly stableAfterMs?: number
  /** Uniform in [0, 1): the jitter. Inject a seeded one for reproducible tests. */
  readonly random?: () => number
  readonly now?: () => number
  readonly log?: NetLog
}

export type TargetState = 'dialing' | 'connected' | 'waiting'

export interface TargetStatus {
  readonly host: string
  readonly port: number
  readonly state: TargetState
  /** Consecutive failures since the last stable connection. */
  readonly failures: number
  readonly lastError: string | null
  readonly connection: PeerConnection | null
}

export type ReconnectEvent =
  | { readonly type: 'dialing'; readonly target: string }
  | { readonly type: 'connected'; readonly target: string; readonly connection: PeerConnection }
  | { readonly type: 'failed'; readonly target: string; readonly error: Error }
  | { readonly type: 'disconnected'; readonly target: string; readonly reason: string }
  | {
      readonly type: 'scheduled'
      readonly target: string
      readonly delayMs: number
      readonly failures: number
    }
  | { readonly type: 'gave-up'; readonly target: string; readonly error: Error }

interface Target {
  readonly host: string
  readonly port: number
  readonly key: string
  state: TargetState
  failures: number
  lastError: string | null
  timer: NodeJS.Timeout | null
  connection: PeerConnection | null
  connectedAt: number
  stopWatching: (() => void) | null
  /** Bumped on every dial and on unwant, so a settling dial can tell whether it still matters. */
  generation: number
}

/** Errors that no retry can fix: dialing on would only spin. */
const PERMANENT = new Set(['SELF_CONNECTION', 'CLOSED'])

export class Reconnector {
  private readonly targets = new Map<string, Target>()
  private readonly callbacks = new Set<(event: ReconnectEvent) => void>()
  private readonly initialDelayMs: number
  private readonly maxDelayMs: number
  private readonly stableAfterMs: number
  private readonly random: () => number
  private readonly now: () => number
  private readonly log: NetLog
  private closed = false
  /** While paused ("work offline") nothing is dialed; targets are kept for resume(). */
  private paused = false

  constructor(
    private readonly dialer: Dialer,
    options: ReconnectOptions = {},
  ) {
    this.initialDelayMs = options.initialDelayMs ?? 250
    this.maxDelayMs = options.maxDelayMs ?? 30_000
    this.stableAfterMs = options.stableAfterMs ?? 10_000
    this.random = options.random ?? Math.random
    this.now = options.now ?? Date.now
    this.log = options.log ?? defaultNetLog
    if (!(this.initialDelayMs > 0 && this.maxDelayMs >= this.initialDelayMs)) {
      throw new RangeError('need 0 < initialDelayMs <= maxDelayMs')
    }
  }

  /** Keeps host:port connected from now on (dialing at once). Wanting it again changes nothing. */
  want(host: string, port: number): void {
    if (this.closed) throw new Error('Reconnector.want: closed')
    if (typeof host !== 'string' || host === '')
      throw new TypeError('Reconnector.want: host must be non-empty')
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Reconnector.want: port must be an integer in [1, 65535], got ${port}`)
    }
    const key = targetKey(host, port)
    if (this.targets.has(key)) return
    const target: Target = {
      host,
      port,
      key,
      state: 'waiting',
      failures: 0,
      lastError: null,
      timer: null,
      connection: null,
      connectedAt: 0,
      stopWatching: null,
      generation: 0,
    }
    this.targets.set(key, target)
    this.dial(target)
  }

  /** Stops retrying host:port. An open connection to it stays open. Returns whether it was wanted. */
  unwant(host: string, port: number): boolean {
    const target = this.targets.get(targetKey(host, port))
    if (target === undefined) return false
    this.stop(target)
    return true
  }

  /** Skips the wait: every address not connected or dialing is dialed now, with a fresh backoff. */
  reconnectNow(): void {
    for (const target of this.targets.values()) {
      if (target.state !== 'waiting') continue
      target.failures = 0
      this.dial(target)
    }
  }

  /**
   * Stops dialing (work offline): pending retries are cancelled and dials in flight are ignored when
   * they settle (a connection they made is closed). Open connections are the caller's to close.
   */
  pause(): void {
    if (this.paused) return
    this.paused = true
    for (const target of this.targets.values()) {
      if (target.timer !== null) clearTimeout(target.timer)
      target.timer = null
      if (target.state === 'dialing') {
        target.generation++
        target.state = 'waiting'
      }
    }
  }

  /** Dials every wanted address again, now. */
  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.reconnectNow()
  }

  get isPaused(): boolean {
    return this.paused
  }

  status(): TargetStatus[] {
    return [...this.targets.values()].map((t) => ({
      host: t.host,
      port: t.port,
      state: t.state,
      failures: t.failures,
      lastError: t.lastError,
      connection: t.connection,
    }))
  }

  onEvent(callback: (event: ReconnectEvent) => void): () => void {
    this.callbacks.add(callback)
    return () => {
      this.callbacks.delete(callback)
    }
  }

  /** Idempotent: clears every timer and forgets every target; dials in flight are ignored when they end. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const target of [...this.targets.values()]) this.stop(target)
    this.callbacks.clear()
  }

  private dial(target: Target): void {
    if (target.timer !== null) clearTimeout(target.timer)
    target.timer = null
    if (this.paused) {
      target.state = 'waiting'
      return
    }
    target.state = 'dialing'
    const generation = ++target.generation
    this.emit({ type: 'dialing', target: target.key })
    let attempt: Promise<PeerConnection>
    try {
      attempt = this.dialer.dial(target.host, target.port)
    } catch (error) {
      attempt = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    attempt.then(
      (connection) => {
        if (this.isCurrent(target, generation)) this.connected(target, connection)
        else if (this.paused) connection.close('working offline')
      },
      (error: unknown) => {
        if (this.isCurrent(target, generation))
          this.failed(target, error instanceof Error ? error : new Error(String(error)))
      },
    )
  }

  private connected(target: Target, connection: PeerConnection): void {
    target.state = 'connected'
    target.connection = connection
    target.lastError = null
    target.connectedAt = this.now()
    this.emit({ type: 'connected', target: target.key, connection })
    // A dial may resolve with a connection that closed meanwhile; onClose still reports it.
    target.stopWatching = connection.onClose((info) => {
      if (target.connection !== connection || !this.targets.has(target.key)) return
      target.stopWatching = null
      target.connection = null
      if (this.now() - target.connectedAt >= this.stableAfterMs) target.failures = 0
      this.emit({ type: 'disconnected', target: target.key, reason: info.reason })
      this.schedule(target)
    })
  }

  private failed(target: Target, error: Error): void {
    target.lastError = describeError(error)
    this.emit({ type: 'failed', target: target.key, error })
    if (error instanceof NetError && PERMANENT.has(error.code)) {
      this.log('warn', `not reconnecting to ${target.key}: ${error.message}`)
      this.stop(target)
      this.emit({ type: 'gave-up', target: target.key, error })
      return
    }
    this.log('debug', `dial ${target.key} failed: ${target.lastError}`)
    this.schedule(target)
  }

  private schedule(target: Target): void {
    target.failures++
    if (this.paused) {
      target.state = 'waiting'
      return
    }
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (target.failures - 1))
    const delayMs = Math.floor(this.random() * ceiling)
    target.state = 'waiting'
    target.timer = setTimeout(() => {
      target.timer = null
      this.dial(target)
    }, delayMs)
    this.emit({ type: 'scheduled', target: target.key, delayMs, failures: target.failures })
  }

  private stop(target: Target): void {
    if (target.timer !== null) clearTimeout(target.timer)
    target.timer = null
    target.stopWatching?.()
    target.stopWatching = null
    target.generation++
    this.targets.delete(target.key)
  }

  private isCurrent(target: Target, generation: number): boolean {
    return !this.closed && this.targets.get(target.key) === target && target.generation === generation
  }

  private emit(event: ReconnectEvent): void {
    for (const callback of [...this.callbacks]) {
      try {
        callback(event)
      } catch (error) {
        this.log('warn', `reconnect event handler failed: ${describeError(error)}`)
      }
    }
  }
}

/** How events name an address (`target`). */
export const targetKey = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
