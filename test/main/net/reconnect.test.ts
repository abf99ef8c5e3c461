import { afterEach, describe, expect, it, vi } from 'vitest'
import type { PeerConnection } from '../../../src/shared/sync/peer-connection'
import { createConnectedPair } from '../../../src/shared/sync/memory-pair'
import { generateKeyPair } from '../../../src/main/net/device-key'
import { NetError } from '../../../src/main/net/errors'
import { Reconnector, type Dialer, type ReconnectEvent } from '../../../src/main/net/reconnect'
import { Transport } from '../../../src/main/net/transport'
import { Cleanup, HOST, sleep, waitFor } from './helpers'

interface PendingDial {
  readonly host: string
  readonly port: number
  readonly resolve: (connection: PeerConnection) => void
  readonly reject: (error: Error) => void
}

/** A dialer whose every dial waits for the test to settle it. */
class FakeDialer implements Dialer {
  readonly calls: PendingDial[] = []
  dial(host: string, port: number): Promise<PeerConnection> {
    return new Promise((resolve, reject) => this.calls.push({ host, port, resolve, reject }))
  }
  get last(): PendingDial {
    return this.calls.at(-1)!
  }
}

const refused = (): NetError => new NetError('CONNECTION_REFUSED', 'nothing listens')

function setup(options: ConstructorParameters<typeof Reconnector>[1] = {}) {
  const dialer = new FakeDialer()
  const reconnector = new Reconnector(dialer, {
    initialDelayMs: 250,
    maxDelayMs: 4000,
    stableAfterMs: 10_000,
    random: () => 0.5,
    log: () => undefined,
    ...options,
  })
  const events: ReconnectEvent[] = []
  reconnector.onEvent((e) => events.push(e))
  const delays = (): number[] => events.flatMap((e) => (e.type === 'scheduled' ? [e.delayMs] : []))
  return { dialer, reconnector, events, delays }
}

describe('Reconnector (fake dialer, fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('retries with exponential backoff and full jitter, capped', async () => {
    vi.useFakeTimers()
    const { dialer, reconnector, delays } = setup()
    reconnector.want('10.0.0.1', 7000)
    expect(dialer.calls).toHaveLength(1)
    expect(dialer.last).toMatchObject({ host: '10.0.0.1', port: 7000 })
    for (let i = 0; i < 7; i++) {
      dialer.last.reject(refused())
      await vi.advanceTimersByTimeAsync(0)
      const delay = delays().at(-1)!
      await vi.advanceTimersByTimeAsync(delay - 1)
      expect(dialer.calls).toHaveLength(i + 1)
      await vi.advanceTimersByTimeAsync(1)
      expect(dialer.calls).toHaveLength(i + 2)
    }
    // random() = 0.5: half of a ceiling that doubles from 250 ms up to 4 s.
    expect(delays()).toEqual([125, 250, 500, 1000, 2000, 2000, 2000])
    expect(reconnector.status()[0]).toMatchObject({
      state: 'dialing',
      failures: 7,
      lastError: 'nothing listens',
    })
    reconnector.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('draws each delay uniformly below its ceiling', async () => {
    vi.useFakeTimers()
    let n = 0
    const { dialer, reconnector, delays } = setup({ random: () => [0, 0.999, 0.3][n++ % 3]! })
    reconnector.want('h', 1)
    for (let i = 0; i < 3; i++) {
      dialer.last.reject(refused())
      await vi.advanceTimersByTimeAsync(5000)
    }
    expect(delays()).toEqual([0, 499, 300])
    reconnector.close()
  })

  it('resets the backoff after a connection stayed up, not after one that dropped at once', async () => {
    vi.useFakeTimers()
    const { dialer, reconnector, events, delays } = setup()
    reconnector.want('h', 1)
    for (let i = 0; i < 3; i++) {
      dialer.last.reject(refused())
      await vi.advanceTimersByTimeAsync(5000)
    }
    expect(delays()).toEqual([125, 250, 500])

    const [stable] = createConnectedPair()
    dialer.last.resolve(stable)
    await vi.advanceTimersByTimeAsync(11_000)
    expect(reconnector.status()[0]!.state).toBe('connected')
    stable.close('test')
    await vi.advanceTimersByTimeAsync(0)
    expect(events.some((e) => e.type === 'disconnected')).toBe(true)
    expect(delays().at(-1)).toBe(125)

    await vi.advanceTimersByTimeAsync(125)
    const [flaky] = createConnectedPair()
    dialer.last.resolve(flaky)
    await vi.advanceTimersByTimeAsync(100)
    flaky.close('test')
    await vi.advanceTimersByTimeAsync(0)
    expect(delays().at(-1)).toBe(250)
    reconnector.close()
  })

  it('reconnectNow() dials at once with a fresh backoff', async () => {
    vi.useFakeTimers()
    const { dialer, reconnector, delays } = setup({ initialDelayMs: 5000, maxDelayMs: 60_000 })
    reconnector.want('h', 1)
    reconnector.want('h', 1) // no second target
    reconnector.want('h', 2)
    expect(dialer.calls).toHaveLength(2)
    dialer.calls[0]!.reject(refused())
    dialer.calls[1]!.reject(refused())
    await vi.advanceTimersByTimeAsync(0)
    expect(delays()).toEqual([2500, 2500])
    reconnector.reconnectNow()
    expect(dialer.calls).toHaveLength(4)
    expect(reconnector.status().map((s) => [s.port, s.state, s.failures])).toEqual([
      [1, 'dialing', 0],
      [2, 'dialing', 0],
    ])
    reconnector.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('unwant() and close() stop the retries and ignore dials that settle later', async () => {
    vi.useFakeTimers()
    const { dialer, reconnector, events } = setup()
    reconnector.want('h', 1)
    reconnector.want('h', 2)
    const [connection] = createConnectedPair()
    dialer.calls[0]!.resolve(connection)
    await vi.advanceTimersByTimeAsync(0)
    expect(reconnector.unwant('h', 1)).toBe(true)
    expect(reconnector.unwant('h', 1)).toBe(false)
    expect(connection.closed).toBe(false) // unwant never closes a connection
    connection.close()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(dialer.calls).toHaveLength(2)

    reconnector.close()
    reconnector.close()
    const count = events.length
    dialer.calls[1]!.reject(refused())
    await vi.advanceTimersByTimeAsync(60_000)
    expect(events.length).toBe(count)
    expect(dialer.calls).toHaveLength(2)
    expect(vi.getTimerCount()).toBe(0)
    expect(() => reconnector.want('h', 3)).toThrow(/closed/)
  })

  it('pause() dials nothing (work offline) and closes what a dial in flight brings; resume() dials at once', async () => {
    vi.useFakeTimers()
    const { dialer, reconnector } = setup()
    reconnector.want('h', 1)
    reconnector.want('h', 2)
    dialer.calls[0]!.reject(refused()) // h:1 waits for a retry
    await vi.advanceTimersByTimeAsync(0)
    reconnector.pause()
    expect(reconnector.isPaused).toBe(true)
    expect(vi.getTimerCount()).toBe(0) // the retry is cancelled
    const [late] = createConnectedPair()
    dialer.calls[1]!.resolve(late) // h:2's dial, started before the pause, succeeds after it
    await vi.advanceTimersByTimeAsync(60_000)
    expect(late.closed).toBe(true)
    reconnector.want('h', 3) // wanted while offline: remembered, not dialed
    expect(dialer.calls).toHaveLength(2)
    expect(reconnector.status().every((s) => s.state === 'waiting')).toBe(true)
    reconnector.resume()
    expect(dialer.calls.slice(2).map((c) => c.port)).toEqual([1, 2, 3])
    reconnector.close()
  })

  it('gives up on an address that leads back to this device', async () => {
    const { dialer, reconnector, events } = setup()
    reconnector.want('h', 1)
    dialer.last.reject(new NetError('SELF_CONNECTION', 'h:1 is this device itself.'))
    await waitFor(() => events.some((e) => e.type === 'gave-up'))
    expect(reconnector.status()).toEqual([])
  })

  it('validates its arguments', () => {
    const { reconnector } = setup()
    expect(() => reconnector.want('', 1)).toThrow(TypeError)
    expect(() => reconnector.want('h', 0)).toThrow(RangeError)
    expect(() => new Reconnector(new FakeDialer(), { initialDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError)
    reconnector.close()
  })
})

describe('Reconnector over TCP', () => {
  const cleanup = new Cleanup()
  afterEach(() => cleanup.closeAll())

  it('reconnects after the listener restarts, backing off meanwhile', async () => {
    const key = generateKeyPair()
    const first = cleanup.track(new Transport({ keyPair: key, log: () => undefined }))
    const port = await first.listen({ host: HOST, port: 0 })
    const dialer = cleanup.track(new Transport({ keyPair: generateKeyPair(), log: () => undefined }))
    const reconnector = new Reconnector(dialer, {
      initialDelayMs: 40,
      maxDelayMs: 160,
      random: () => 0.999,
      log: () => undefined,
    })
    const events: (ReconnectEvent & { at: number })[] = []
    reconnector.onEvent((e) => events.push({ ...e, at: performance.now() }))
    const count = (type: ReconnectEvent['type']): number => events.filter((e) => e.type === type).length
    try {
      reconnector.want(HOST, port)
      await waitFor(() => count('connected') === 1)

      await first.close()
      await waitFor(() => count('failed') >= 5, 5000, 'five refused dials')
      const second = cleanup.track(new Transport({ keyPair: key, log: () => undefined }))
      await second.listen({ host: HOST, port })
      await waitFor(() => count('connected') === 2, 5000, 'the reconnection')

      const failures = events.filter((e) => e.type === 'failed')
      expect(
        failures.every((e) => e.type === 'failed' && (e.error as NetError).code === 'CONNECTION_REFUSED'),
      ).toBe(true)
      const scheduled = events.flatMap((e) => (e.type === 'scheduled' ? [e.delayMs] : []))
      expect(scheduled.slice(0, 5)).toEqual([39, 79, 159, 159, 159])
      // Each dial came no sooner than the delay scheduled before it.
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!
        if (e.type !== 'scheduled') continue
        const next = events.slice(i + 1).find((x) => x.type === 'dialing')
        if (next !== undefined) expect(next.at - e.at).toBeGreaterThanOrEqual(e.delayMs - 2)
      }
      const connection = reconnector.status()[0]!.connection!
      expect(connection.closed).toBe(false)
      expect(Buffer.from(connection.remoteKey).equals(Buffer.from(key.publicKey))).toBe(true)
    } finally {
      reconnector.close()
    }
  })

  it('settles two devices that want each other on one connection, and re-forms it after a close', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const options = { initialDelayMs: 20, maxDelayMs: 100, log: () => undefined }
    const ra = new Reconnector(a.transport, options)
    const rb = new Reconnector(b.transport, options)
    let dials = 0
    for (const r of [ra, rb]) r.onEvent((e) => void (e.type === 'dialing' && dials++))
    const settled = (): boolean =>
      [ra, rb].every((r) => r.status()[0]!.state === 'connected') &&
      a.transport.connections().length === 1 &&
      b.transport.connections().length === 1
    try {
      ra.want(HOST, b.port)
      rb.want(HOST, a.port)
      await waitFor(settled)
      await sleep(100)
      // Both dialed once; each dial resolved with the one connection kept, and nothing was torn down.
      expect(dials).toBe(2)
      expect(a.announced).toHaveLength(1)
      expect(b.announced).toHaveLength(1)
      for (let k = 0; k < 2; k++) {
        a.transport.connections()[0]!.close('test')
        await waitFor(() => a.announced.length === k + 2 && settled(), 3000, 'the new connection')
        const [ab] = a.transport.connections()
        const [ba] = b.transport.connections()
        expect(Buffer.from(ab!.handshakeHash).equals(Buffer.from(ba!.handshakeHash))).toBe(true)
      }
    } finally {
      ra.close()
      rb.close()
    }
  })
})
