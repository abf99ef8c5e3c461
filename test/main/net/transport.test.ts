import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { NetError } from '../../../src/main/net/errors'
import { compareKeys } from '../../../src/main/net/pairing'
import { seededRandom } from '../../../src/shared/random'
import { Transport } from '../../../src/main/net/transport'
import { generateKeyPair } from '../../../src/main/net/device-key'
import {
  activeHandles,
  bytes,
  Cleanup,
  closeOf,
  equalBytes,
  HOST,
  messages,
  nextConnection,
  nextMessage,
  sleep,
  socketClosed,
  stallingProxy,
  waitFor,
} from './helpers'

const cleanup = new Cleanup()

/** A TCP listener on 127.0.0.1 that accepts and never says a word. */
async function muteServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
afterEach(() => cleanup.closeAll())

async function rejection(promise: Promise<unknown>): Promise<NetError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof NetError) return error
    throw error
  }
  throw new Error('expected the promise to reject with a NetError')
}

describe('Transport', () => {
  it('connects two devices over Noise and carries frames both ways', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const accepted = nextConnection(a.transport)
    const ab = await b.transport.dial(HOST, a.port)
    const ba = await accepted

    expect(equalBytes(ab.remoteKey, a.transport.publicKey)).toBe(true)
    expect(equalBytes(ba.remoteKey, b.transport.publicKey)).toBe(true)
    expect(ab.handshakeHash.length).toBe(64)
    expect(equalBytes(ab.handshakeHash, ba.handshakeHash)).toBe(true)
    expect([ab.initiator, ba.initiator]).toEqual([true, false])
    expect(ab.remoteAddress).toBe(HOST)
    expect(ab.remotePort).toBe(a.port)

    const toA = messages(ba, 3)
    ab.send(bytes(1))
    ab.send(new Uint8Array(0))
    ab.send(bytes(2, 3))
    expect(await toA).toEqual([bytes(1), new Uint8Array(0), bytes(2, 3)])
    const toB = nextMessage(ab)
    ba.send(bytes(9, 9))
    expect(await toB).toEqual(bytes(9, 9))

    expect(ab.bytesSent).toBeGreaterThan(0)
    expect(ab.bytesReceived).toBeGreaterThan(0)
    // Raw bytes on the wire agree on both ends, once everything has arrived.
    await waitFor(() => ab.bytesSent === ba.bytesReceived && ba.bytesSent === ab.bytesReceived)
    expect(a.transport.connections()).toEqual([ba])
    expect(a.transport.connectionTo(b.transport.publicKey)).toBe(ba)
  })

  it('keeps frames that arrive before anyone subscribes', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const accepted = nextConnection(a.transport)
    const ab = await b.transport.dial(HOST, a.port)
    ab.send(bytes(1))
    ab.send(bytes(2))
    const ba = await accepted
    await sleep(50)
    expect(await messages(ba, 2)).toEqual([bytes(1), bytes(2)])
  })

  it('carries 4 MiB frames intact in both directions', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const accepted = nextConnection(a.transport)
    const ab = await b.transport.dial(HOST, a.port)
    const ba = await accepted
    const big = new Uint8Array(4 * 1024 * 1024)
    const random = seededRandom(7)
    for (let i = 0; i < big.length; i += 4) big[i] = Math.floor(random() * 256)
    const atA = nextMessage(ba)
    const atB = nextMessage(ab)
    ab.send(big)
    ba.send(big)
    expect(equalBytes(await atA, big)).toBe(true)
    expect(equalBytes(await atB, big)).toBe(true)
    expect(ab.bytesSent).toBeGreaterThan(big.length)
  })

  it('closes only the connection that sent a frame above the cap', async () => {
    const a = await cleanup.transport({ maxFrameSize: 1024 * 1024 })
    const b = await cleanup.transport({ maxFrameSize: 4 * 1024 * 1024 })
    const c = await cleanup.transport()
    const fromB = nextConnection(a.transport)
    const ab = await b.transport.dial(HOST, a.port)
    const ba = await fromB
    const fromC = nextConnection(a.transport)
    const cb = await c.transport.dial(HOST, a.port)
    const ca = await fromC

    const closedAtA = closeOf(ba)
    const closedAtB = closeOf(ab)
    ab.send(new Uint8Array(2 * 1024 * 1024))
    const info = await closedAtA
    expect(info.local).toBe(true)
    expect(info.reason).toMatch(/frame.*cap/)
    expect((await closedAtB).local).toBe(false)
    expect(a.logs.some((l) => l.level === 'warn' && /cap/.test(l.message))).toBe(true)

    // The sender's own cap is checked before anything is sent.
    expect(() => cb.send(new Uint8Array(8 * 1024 * 1024 + 1))).toThrow(/above/)
    const atA = nextMessage(ca)
    cb.send(bytes(42))
    expect(await atA).toEqual(bytes(42))
    expect(ca.closed).toBe(false)
  })

  it('drops a socket that never completes the handshake, at the deadline', async () => {
    const a = await cleanup.transport({ handshakeTimeoutMs: 300 })
    // The clock starts before the connect: the node's accept (and deadline) comes after it, whereas
    // the client may learn that it connected well after the accept on a loaded machine.
    const start = Date.now()
    const silent = await cleanup.rawSocket(a.port)
    await waitFor(() => a.transport.pendingStats.inbound === 1)
    await socketClosed(silent)
    const elapsed = Date.now() - start
    expect(elapsed).toBeGreaterThanOrEqual(295)
    expect(elapsed).toBeLessThan(3000)
    await waitFor(() => a.transport.pendingStats.inbound === 0)
  })

  it('makes room for a newcomer from a busy address by dropping that address’s oldest pending socket', async () => {
    const a = await cleanup.transport({ maxPendingPerAddress: 3, handshakeTimeoutMs: 20_000 })
    const silent: Socket[] = []
    for (let i = 0; i < 3; i++) {
      silent.push(await cleanup.rawSocket(a.port))
      await waitFor(() => a.transport.pendingStats.inbound === i + 1)
    }
    const extra = await cleanup.rawSocket(a.port)
    await socketClosed(silent[0]!) // the oldest from 127.0.0.1, not the newcomer
    expect(a.transport.pendingStats).toEqual({ inbound: 3, refused: 0, evicted: 1 })
    for (const socket of [...silent.slice(1), extra]) expect(socket.destroyed).toBe(false)

    // A real peer from the same address gets in the same way, with a handshake to spare.
    const b = await cleanup.transport()
    const connection = await b.transport.dial(HOST, a.port)
    expect(connection.closed).toBe(false)
    await socketClosed(silent[1]!)
    expect(a.transport.pendingStats.evicted).toBe(2)
  })

  it('when every pending place is taken, drops from the busiest address, the least advanced, the oldest', async () => {
    const a = await cleanup.transport({ maxPendingSockets: 4, handshakeTimeoutMs: 20_000 })
    const from = async (host: number): Promise<Socket> => {
      const before = a.transport.pendingStats
      const socket = await cleanup.rawSocket(a.port, `127.0.0.${host}`)
      await waitFor(
        () =>
          a.transport.pendingStats.inbound + a.transport.pendingStats.evicted ===
          before.inbound + before.evicted + 1,
      )
      return socket
    }
    const s1 = await from(2)
    const s2 = await from(2)
    const s3 = await from(3)
    // Two bytes of a record header: the handshake has begun (secret-stream waits for the rest).
    s3.write(Uint8Array.from([0x20, 0x00]))
    await sleep(50)
    const s4 = await from(4)
    expect(a.transport.pendingStats.inbound).toBe(4)

    await from(5) // 127.0.0.2 holds two: its oldest goes
    await socketClosed(s1)
    expect(s2.destroyed).toBe(false)
    await from(6) // one each now: the least advanced, oldest first
    await socketClosed(s2)
    await from(7)
    await socketClosed(s4)
    const s5 = await from(8) // 127.0.0.5's socket, not s3: s3 has begun its handshake
    expect(s3.destroyed).toBe(false)
    expect(s5.destroyed).toBe(false)
    expect(a.transport.pendingStats).toEqual({ inbound: 4, refused: 0, evicted: 4 })

    // A real peer, from yet another address, gets through a full house of silent sockets.
    const b = await cleanup.transport()
    const connection = await b.transport.dial(HOST, a.port)
    expect(connection.closed).toBe(false)
    expect(s3.destroyed).toBe(false)
    expect(a.transport.pendingStats.evicted).toBe(5)
    expect(a.logs.some((l) => l.level === 'info' && /dropped for newer ones/.test(l.message))).toBe(true)
  })

  it('drops a connection whose peer stops reading once what is queued for it passes the cap, and no other', async () => {
    const cap = 4 * 2 ** 20
    const a = await cleanup.transport({ maxSendBuffer: cap })
    const b = await cleanup.transport()
    const c = await cleanup.transport()
    const proxy = await stallingProxy(a.port)
    try {
      const fromB = nextConnection(a.transport)
      await b.transport.dial(HOST, proxy.port)
      const ab = await fromB
      const fromC = nextConnection(a.transport)
      const ca = await c.transport.dial(HOST, a.port)
      const ac = await fromC
      proxy.stall()
      await sleep(50)
      const closed = closeOf(ab)
      const frame = new Uint8Array(2 ** 20)
      let sent = 0
      while (!ab.closed && sent < 256) {
        ab.send(frame)
        sent++
        await sleep(5) // time for the kernel to take what it will
      }
      const info = await closed
      expect(info.local).toBe(true)
      expect(info.reason).toMatch(/not reading/)
      expect(a.logs.some((l) => l.level === 'warn' && /not reading/.test(l.message))).toBe(true)
      // The kernel's buffers take some MiB on loopback before anything queues in the process.
      expect(sent).toBeLessThan(64)
      // The other connection carries on, both ways.
      const atC = nextMessage(ca)
      ac.send(bytes(7))
      expect(await atC).toEqual(bytes(7))
      const atA = nextMessage(ac)
      ca.send(bytes(8))
      expect(await atA).toEqual(bytes(8))
    } finally {
      await proxy.close()
    }
  })

  it('lets a burst far above one frame through to a peer that reads', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const fromB = nextConnection(a.transport)
    const ab = await b.transport.dial(HOST, a.port)
    const ba = await fromB
    // 24 × 1 MiB sent in one go (as a large sync reply is): up to 24 MiB queued, under the 32 MiB cap.
    const arrived = messages(ab, 24)
    for (let i = 0; i < 24; i++) ba.send(new Uint8Array(2 ** 20).fill(i))
    const frames = await arrived
    expect(frames.map((f) => [f.length, f[0]])).toEqual(Array.from({ length: 24 }, (_, i) => [2 ** 20, i]))
    expect(ba.closed).toBe(false)
  })

  it('drops a connection to itself', async () => {
    const a = await cleanup.transport()
    const error = await rejection(a.transport.dial(HOST, a.port))
    expect(error.code).toBe('SELF_CONNECTION')
    expect(a.announced).toEqual([])
    expect(a.transport.connections()).toEqual([])
  })

  it('keeps exactly one connection when two devices dial each other at once', async () => {
    for (let round = 0; round < 8; round++) {
      const a = await cleanup.transport()
      const b = await cleanup.transport()
      const [ab, ba] = await Promise.all([a.transport.dial(HOST, b.port), b.transport.dial(HOST, a.port)])
      // Both dials resolve with the one connection their device kept, and it is the same TCP connection.
      expect(equalBytes(ab.handshakeHash, ba.handshakeHash)).toBe(true)
      await sleep(30)
      expect(a.announced).toHaveLength(1)
      expect(b.announced).toHaveLength(1)
      expect(a.announced[0]).toBe(ab)
      expect(b.announced[0]).toBe(ba)
      // Two TCP connections were made; each side saw the other one end as a duplicate, unannounced.
      const duplicates = (logs: { message: string }[]): number =>
        logs.filter((l) => /closed before use: duplicate/.test(l.message)).length
      await waitFor(
        () => duplicates(a.logs) === 1 && duplicates(b.logs) === 1,
        2000,
        'the duplicate to close',
      )
      expect(ab.closed || ba.closed).toBe(false)
      const atB = nextMessage(ba)
      ab.send(bytes(round))
      expect(await atB).toEqual(bytes(round))
      await cleanup.closeAll()
    }
  })

  it('resolves a dial to a device already connected with the existing connection', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const ab = await a.transport.dial(HOST, b.port)
    await waitFor(() => b.announced.length === 1)
    const again = await b.transport.dial(HOST, a.port)
    expect(again).toBe(b.announced[0])
    const twice = await a.transport.dial(HOST, b.port)
    expect(twice).toBe(ab)
    await sleep(30)
    expect(a.announced).toHaveLength(1)
    expect(b.announced).toHaveLength(1)
    expect(ab.closed).toBe(false)
  })

  it('replaces a connection that the other side has given up on, whichever side arbitrates', async () => {
    for (const aIsArbiter of [true, false]) {
      const aKey = generateKeyPair()
      let bKey = generateKeyPair()
      while (compareKeys(aKey.publicKey, bKey.publicKey) < 0 !== aIsArbiter) bKey = generateKeyPair()
      const a = await cleanup.transport({ keyPair: aKey })
      const b1 = cleanup.track(new Transport({ keyPair: bKey, log: () => undefined }))
      const old = await b1.dial(HOST, a.port)
      await waitFor(() => a.announced.length === 1)
      const oldAtA = a.announced[0]!
      // The same device comes back from a fresh process that knows nothing of the old connection,
      // while the old socket is still open at A: A must take the new one, not refuse it as a duplicate.
      const b2 = cleanup.track(new Transport({ keyPair: bKey, log: () => undefined }))
      const fresh = await b2.dial(HOST, a.port)
      expect(fresh.closed).toBe(false)
      await waitFor(() => oldAtA.closed)
      expect(a.transport.connections()).toHaveLength(1)
      expect(equalBytes(a.transport.connections()[0]!.handshakeHash, fresh.handshakeHash)).toBe(true)
      await waitFor(() => old.closed)
      await cleanup.closeAll()
    }
  })

  it('ignores garbage from a raw socket without disturbing an existing connection', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport()
    const accepted = nextConnection(a.transport)
    const ab = await b.transport.dial(HOST, a.port)
    const ba = await accepted

    const random = seededRandom(99)
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256))
    const garbage = await cleanup.rawSocket(a.port)
    garbage.write(noise)
    // "GET" as a little-endian record length is 5.5 MB: the record guard drops it before it is buffered.
    const http = await cleanup.rawSocket(a.port)
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    // A plausible first record, then junk: the Noise handshake itself fails.
    const fake = await cleanup.rawSocket(a.port)
    fake.write(Uint8Array.from([32, 0, 0, ...noise.subarray(0, 32)]))
    await Promise.all([socketClosed(garbage), socketClosed(http), socketClosed(fake)])
    expect(a.logs.some((l) => /record above/.test(l.message))).toBe(true)
    expect(a.logs.some((l) => /handshake failed/.test(l.message))).toBe(true)

    const atA = messages(ba, 2)
    ab.send(bytes(1))
    ab.send(bytes(2))
    expect(await atA).toEqual([bytes(1), bytes(2)])
    expect(ab.closed || ba.closed).toBe(false)
    expect(a.transport.pendingStats.inbound).toBe(0)
  })

  it('keeps an idle connection alive with keepalives, and notices a silent peer', async () => {
    // The idle timeout is 15 keepalives: a loaded CI machine stalled a worker past 400 ms once (then 4).
    const a = await cleanup.transport({ keepAliveMs: 100, idleTimeoutMs: 1500 })
    const b = await cleanup.transport({ keepAliveMs: 100, idleTimeoutMs: 1500 })
    const ab = await b.transport.dial(HOST, a.port)
    // Well past the idle timeout: only the keepalives keep it open.
    await sleep(3500)
    expect(ab.closed).toBe(false)

    // This peer sends nothing for far longer than A waits.
    const quiet = await cleanup.transport({ keepAliveMs: 60_000, idleTimeoutMs: 120_000 })
    const qa = await quiet.transport.dial(HOST, a.port)
    const closed = closeOf(qa)
    await waitFor(() => a.transport.connections().length === 2)
    const atA = a.transport.connectionTo(quiet.transport.publicKey)!
    const info = await closeOf(atA)
    expect(info.reason).toMatch(/nothing received/)
    expect((await closed).local).toBe(false)
  })

  it('reports a taken port as ADDRESS_IN_USE, naming it', async () => {
    const a = await cleanup.transport()
    const b = await cleanup.transport({}, false)
    const error = await rejection(b.transport.listen({ host: HOST, port: a.port }))
    expect(error.code).toBe('ADDRESS_IN_USE')
    expect(error.message).toContain(String(a.port))
    expect(error.message).toMatch(/--port/)
    // The failed listen leaves the transport usable.
    expect(await b.transport.listen({ host: HOST, port: 0 })).toBeGreaterThan(0)
  })

  it('reports refused and timed-out dials as typed errors', async () => {
    const b = await cleanup.transport({ handshakeTimeoutMs: 300 }, false)
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
    const freePort = (server.address() as AddressInfo).port
    await new Promise<void>((resolve) => server.close(() => resolve()))
    expect((await rejection(b.transport.dial(HOST, freePort))).code).toBe('CONNECTION_REFUSED')

    // A listener that accepts and then says nothing.
    const mute = await muteServer()
    try {
      const error = await rejection(b.transport.dial(HOST, mute.port))
      expect(error.code).toBe('TIMEOUT')
      expect(error.message).toMatch(/300 ms/)
    } finally {
      await mute.close()
    }
  })

  it('closes idempotently, rejecting dials in flight and leaving no handle behind', async () => {
    await sleep(10)
    const before = activeHandles()
    const a = cleanup.track(new Transport({ keyPair: generateKeyPair(), log: () => undefined }))
    const b = cleanup.track(new Transport({ keyPair: generateKeyPair(), log: () => undefined }))
    const port = await a.listen({ host: HOST, port: 0 })
    await b.listen({ host: HOST, port: 0 })
    const ab = await b.dial(HOST, port)
    ab.send(bytes(1))
    const silent = await muteServer()
    const inFlight = rejection(b.dial(HOST, silent.port))
    await sleep(20)
    // The measurement sees what is open: listeners and sockets, each end of each connection.
    expect(activeHandles().get('TCPServerWrap') ?? 0).toBeGreaterThanOrEqual(
      (before.get('TCPServerWrap') ?? 0) + 3,
    )
    expect(activeHandles().get('TCPSocketWrap') ?? 0).toBeGreaterThanOrEqual(
      (before.get('TCPSocketWrap') ?? 0) + 4,
    )

    await Promise.all([b.close(), b.close(), a.close()])
    await b.close()
    expect((await inFlight).code).toBe('CLOSED')
    expect((await rejection(b.dial(HOST, port))).code).toBe('CLOSED')
    expect(ab.closed).toBe(true)
    await silent.close()

    await sleep(10)
    const after = activeHandles()
    for (const kind of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
      // At most what was there before (a timer of an earlier test may have ended since).
      expect(after.get(kind) ?? 0, kind).toBeLessThanOrEqual(before.get(kind) ?? 0)
    }
  })
})
