import { describe, expect, it } from 'vitest'
import { ConnectionEvents } from '../../../src/shared/sync/connection-events'
import { FrameError } from '../../../src/shared/sync/framing'
import { createConnectedPair } from '../../../src/shared/sync/memory-pair'
import type { CloseInfo } from '../../../src/shared/sync/peer-connection'

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

describe('ConnectionEvents', () => {
  it('keeps frames for the first subscriber, in order, and calls it back only after onMessage returns', async () => {
    const events = new ConnectionEvents(() => undefined)
    events.deliver(Uint8Array.of(1))
    events.deliver(Uint8Array.of(2))
    const got: number[] = []
    events.onMessage((f) => got.push(f[0]!))
    expect(got).toEqual([])
    events.deliver(Uint8Array.of(3)) // behind the queued ones
    await tick()
    events.deliver(Uint8Array.of(4))
    expect(got).toEqual([1, 2, 3, 4])
  })

  it('reports the close once, also to late subscribers, and delivers nothing after it', async () => {
    const events = new ConnectionEvents(() => undefined)
    const infos: CloseInfo[] = []
    const got: number[] = []
    events.onMessage((f) => got.push(f[0]!))
    events.onClose((i) => infos.push(i))
    expect(events.close({ reason: 'bye', local: true })).toBe(true)
    expect(events.close({ reason: 'again', local: false })).toBe(false)
    events.deliver(Uint8Array.of(1))
    events.onClose((i) => infos.push(i))
    const cancelled = events.onClose((i) => infos.push(i))
    cancelled()
    await tick()
    expect(infos).toEqual([
      { reason: 'bye', local: true },
      { reason: 'bye', local: true },
    ])
    expect(got).toEqual([])
  })

  it('routes a throwing subscriber to the owner instead of throwing', () => {
    const errors: unknown[] = []
    const events = new ConnectionEvents((e) => errors.push(e))
    events.onMessage(() => {
      throw new Error('bad frame')
    })
    expect(() => events.deliver(Uint8Array.of(1))).not.toThrow()
    expect(errors).toHaveLength(1)
  })
})

describe('createConnectedPair', () => {
  it('delivers asynchronously, in order, as copies, and closes behind the frames in flight', async () => {
    const [a, b] = createConnectedPair()
    expect(a.initiator).toBe(true)
    expect(b.initiator).toBe(false)
    expect(a.handshakeHash).toEqual(b.handshakeHash)
    const got: number[][] = []
    b.onMessage((f) => got.push([...f]))
    const frame = Uint8Array.of(1, 2)
    a.send(frame)
    frame[0] = 9
    a.send(Uint8Array.of(3))
    expect(got).toEqual([])
    const closed = new Promise<CloseInfo>((resolve) => b.onClose(resolve))
    a.close('done')
    expect(await closed).toEqual({ reason: 'closed by peer', local: false })
    expect(got).toEqual([[1, 2], [3]])
    expect(a.bytesSent).toBe(b.bytesReceived)
    a.send(Uint8Array.of(4)) // no-op once closed
  })

  it('enforces the frame cap on send, and a throwing handler closes the connection', async () => {
    const [a, b] = createConnectedPair({ maxFrameSize: 4 })
    expect(() => a.send(new Uint8Array(5))).toThrow(FrameError)
    b.onMessage(() => {
      throw new Error('cannot parse')
    })
    const closed = new Promise<CloseInfo>((resolve) => a.onClose(resolve))
    a.send(Uint8Array.of(1))
    expect((await closed).reason).toBe('closed by peer')
    expect(b.closed).toBe(true)
  })
})
