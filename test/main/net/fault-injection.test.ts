import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConnectionEvents } from '../../../src/shared/sync/connection-events'
import type { CloseInfo, PeerConnection } from '../../../src/shared/sync/peer-connection'
import { FaultyConnection, withFaults, type FaultOptions } from '../../../src/main/net/fault-injection'
import { bytes, Cleanup, HOST, nextConnection, sleep } from './helpers'

/** Records what reaches the "wire" and when (on the fake clock). */
class RecordingConnection implements PeerConnection {
  readonly remoteKey = new Uint8Array(32)
  readonly handshakeHash = new Uint8Array(64)
  readonly initiator = true
  readonly remoteAddress = 'test'
  readonly remotePort = 0
  readonly bytesSent = 0
  readonly bytesReceived = 0
  readonly sent: { frame: Uint8Array; at: number }[] = []
  private readonly events = new ConnectionEvents(() => undefined)
  get closed(): boolean {
    return this.events.closeInfo !== null
  }
  send(frame: Uint8Array): void {
    if (!this.closed) this.sent.push({ frame, at: Date.now() })
  }
  close(reason = 'closed'): void {
    this.events.close({ reason, local: true })
  }
  onMessage(callback: (frame: Uint8Array) => void): () => void {
    return this.events.onMessage(callback)
  }
  onClose(callback: (info: CloseInfo) => void): () => void {
    return this.events.onClose(callback)
  }
}

/** Sends `count` frames, each tagged with its index, one per `spacingMs`, then waits until all are due. */
async function run(options: FaultOptions, count: number, spacingMs = 0) {
  const inner = new RecordingConnection()
  const faulty = withFaults(inner, options)
  const sentAt: number[] = []
  for (let i = 0; i < count; i++) {
    sentAt.push(Date.now())
    faulty.send(Uint8Array.of(i & 0xff, i >> 8))
    if (spacingMs > 0) await vi.advanceTimersByTimeAsync(spacingMs)
  }
  await vi.advanceTimersByTimeAsync(10_000)
  const received = inner.sent.map(({ frame, at }) => ({ index: frame[0]! | (frame[1]! << 8), at }))
  return { inner, faulty, sentAt, received }
}

describe('fault injection', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('loses frames at the configured rate, reproducibly from the seed', async () => {
    vi.useFakeTimers()
    const { faulty, received } = await run({ loss: 0.3, seed: 42 }, 10_000)
    expect(faulty.stats.sent).toBe(10_000)
    expect(faulty.stats.dropped / 10_000).toBeGreaterThan(0.28)
    expect(faulty.stats.dropped / 10_000).toBeLessThan(0.32)
    expect(received.length).toBe(10_000 - faulty.stats.dropped)
    expect(faulty.stats.delivered).toBe(received.length)
    // No delay: what survives keeps its order.
    expect(received.every((r, i) => i === 0 || r.index > received[i - 1]!.index)).toBe(true)

    const again = await run({ loss: 0.3, seed: 42 }, 10_000)
    expect(again.received.map((r) => r.index)).toEqual(received.map((r) => r.index))
    const other = await run({ loss: 0.3, seed: 43 }, 10_000)
    expect(other.received.map((r) => r.index)).not.toEqual(received.map((r) => r.index))
  })

  it('delays every frame by delay + jitter, within bounds, and jitter reorders', async () => {
    vi.useFakeTimers()
    const { faulty, sentAt, received } = await run({ delayMs: 50, jitterMs: 100, seed: 7 }, 2000, 1)
    expect(received).toHaveLength(2000)
    for (const r of received) {
      const delay = r.at - sentAt[r.index]!
      expect(delay).toBeGreaterThanOrEqual(50)
      expect(delay).toBeLessThanOrEqual(151) // the fake clock fires at whole milliseconds
    }
    expect(faulty.stats.minDelayMs).toBeGreaterThanOrEqual(50)
    expect(faulty.stats.maxDelayMs).toBeLessThan(150)
    expect(faulty.stats.maxDelayMs - faulty.stats.minDelayMs).toBeGreaterThan(90) // jitter is used in full
    const inversions = received.filter((r, i) => i > 0 && r.index < received[i - 1]!.index).length
    expect(inversions).toBeGreaterThan(100)
  })

  it('a fixed delay alone keeps the order', async () => {
    vi.useFakeTimers()
    const { received } = await run({ delayMs: 30, seed: 1 }, 500, 1)
    expect(received.map((r) => r.index)).toEqual([...Array(500).keys()])
  })

  it('duplicates frames at the configured rate', async () => {
    vi.useFakeTimers()
    const { faulty, received } = await run({ duplicate: 0.2, seed: 3 }, 5000)
    expect(faulty.stats.duplicated / 5000).toBeGreaterThan(0.18)
    expect(faulty.stats.duplicated / 5000).toBeLessThan(0.22)
    expect(received).toHaveLength(5000 + faulty.stats.duplicated)
    const seen = new Map<number, number>()
    for (const r of received) seen.set(r.index, (seen.get(r.index) ?? 0) + 1)
    expect(seen.size).toBe(5000)
    expect([...seen.values()].filter((n) => n === 2)).toHaveLength(faulty.stats.duplicated)
  })

  it('holds frames back on request, so later ones overtake them', async () => {
    vi.useFakeTimers()
    const { faulty, received } = await run({ reorder: 0.1, seed: 5 }, 1000, 1)
    expect(faulty.stats.reordered / 1000).toBeGreaterThan(0.07)
    expect(faulty.stats.reordered / 1000).toBeLessThan(0.13)
    expect(received).toHaveLength(1000)
    const overtaken = received.filter((r, i) => i > 0 && r.index < received[i - 1]!.index).length
    expect(overtaken).toBeGreaterThan(50)
  })

  it('drops what is still held when closed, and clears its timers', async () => {
    vi.useFakeTimers()
    const inner = new RecordingConnection()
    const faulty = new FaultyConnection(inner, { delayMs: 100, seed: 1 })
    for (let i = 0; i < 10; i++) faulty.send(bytes(i))
    expect(faulty.inFlight).toBe(10)
    faulty.close('done')
    expect(faulty.inFlight).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(1000)
    expect(inner.sent).toHaveLength(0)
    expect(inner.closed).toBe(true)
    faulty.send(bytes(1))
    expect(faulty.stats.sent).toBe(10)
  })

  it('validates its options', () => {
    const inner = new RecordingConnection()
    expect(() => withFaults(inner, { loss: 1.5 })).toThrow(RangeError)
    expect(() => withFaults(inner, { delayMs: -1 })).toThrow(RangeError)
    expect(() => withFaults(inner, { duplicate: Number.NaN })).toThrow(RangeError)
  })
})

describe('fault injection over TCP', () => {
  const cleanup = new Cleanup()
  afterEach(() => cleanup.closeAll())

  it('loses and delays frames on a real connection', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const accepted = nextConnection(a.transport)
    const faulty = withFaults(await b.transport.dial(HOST, a.port), {
      loss: 0.5,
      delayMs: 20,
      jitterMs: 20,
      seed: 11,
    })
    const ba = await accepted
    const received: number[] = []
    ba.onMessage((frame) => received.push(frame[0]!))
    const start = performance.now()
    for (let i = 0; i < 200; i++) faulty.send(bytes(i))
    const expected = 200 - faulty.stats.dropped
    expect(expected).toBeGreaterThan(70)
    expect(expected).toBeLessThan(130)
    while (received.length < expected && performance.now() - start < 5000) await sleep(10)
    expect(received).toHaveLength(expected)
    expect(performance.now() - start).toBeGreaterThanOrEqual(20)
    expect(new Set(received).size).toBe(expected)
  })
})
