/**
 * Test support: hostile input for a live node, at the three depths a stranger can reach.
 *
 * - Raw TCP before any handshake: random bytes, absurd record headers, and a genuine Noise handshake
 *   message (captured from a real initiator) mutated or cut short.
 * - Inside an authenticated Noise session, below the framing: broken length headers, frames above the
 *   cap, frames cut off by the end of the stream (raw secret-stream, so the test writes the plaintext
 *   itself instead of going through our framing).
 * - Inside an announced connection, as sync messages: every message type with random fields, then
 *   mutated (bytes flipped, cut, spliced, extended). `decodes` sorts them the way the node will: a frame
 *   that decodes is handled and the connection stays; one that does not makes the node drop it.
 */
import { connect, createServer, type Socket } from 'node:net'
import SecretStream from '@hyperswarm/secret-stream'
import type { Random } from '../../src/shared/random'
import type { KeyPair } from '../../src/main/net/secure-channel'
import { decodeMessage, encodeMessage, PROTOCOL_VERSION, type Message } from '../../src/shared/sync/messages'
import { HOST } from './util'

const int = (random: Random, n: number): number => Math.floor(random() * n)

export function randomBytes(random: Random, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = int(random, 256)
  return out
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const randomText = (random: Random, max: number): string =>
  String.fromCharCode(...Array.from({ length: int(random, max) }, () => 32 + int(random, 0x250)))

/** A message of a random type with random (but well-formed) fields; `docId` half the time. */
export function randomMessage(random: Random, docId: string): Message {
  const id = (): string => (random() < 0.5 ? docId : hex(randomBytes(random, 16)))
  const vector = (): Record<string, number> => {
    const v: Record<string, number> = {}
    for (let i = int(random, 6); i > 0; i--) v[randomText(random, 12) || 'r'] = int(random, 1e9)
    return v
  }
  const blob = (): Uint8Array => randomBytes(random, int(random, 200))
  switch (int(random, 12)) {
    case 0:
      return {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        app: randomText(random, 20),
        name: randomText(random, 20),
        gotYours: random() < 0.5,
      }
    case 1:
      return {
        type: 'doc-auth',
        docId: id(),
        epoch: random() < 0.8 ? int(random, 3) : int(random, 2 ** 40),
        proof: randomBytes(random, 32),
        verified: random() < 0.5,
      }
    case 2:
      return { type: 'doc-deny', docId: id(), code: 'bad-proof', reason: randomText(random, 100) }
    case 3:
      return { type: 'sync-request', docId: id(), versions: [vector(), vector(), vector(), vector()] }
    case 4:
      return { type: 'sync-reply', docId: id(), batches: [blob(), blob(), blob(), blob()] }
    case 5:
      return { type: 'update', docId: id(), channel: 0, batch: blob(), sentTo: [] }
    case 6:
      return {
        type: 'awareness',
        docId: id(),
        origin: hex(randomBytes(random, 32)),
        seq: int(random, 1e6),
        hops: int(random, 10),
        state: JSON.stringify({ c: randomText(random, 40) }),
        signature: randomBytes(random, 64),
        sentTo: [],
      }
    case 7:
      return { type: 'key-share', docId: id(), epoch: int(random, 10), key: randomBytes(random, 32) }
    case 8:
      return { type: 'join-request', docId: id(), name: randomText(random, 30) }
    case 9:
      return {
        type: 'join-accept',
        docId: id(),
        role: 'owner',
        epoch: int(random, 5),
        key: randomBytes(random, 32),
      }
    case 10:
      return {
        type: 'invite-redeem',
        docId: id(),
        inviteId: randomBytes(random, 16),
        proof: randomBytes(random, 32),
      }
    default:
      return {
        type: 'shared-docs',
        docs: Array.from({ length: int(random, 5) }, () => ({
          docId: id(),
          title: randomText(random, 40),
          ownerName: randomText(random, 20),
          memberCount: int(random, 100),
        })),
      }
  }
}

/** Flips, cuts, splices or extends a frame (a fresh copy). */
export function mutate(random: Random, frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame)
  switch (int(random, 5)) {
    case 0: {
      for (let n = 1 + int(random, 3); n > 0 && out.length > 0; n--)
        out[int(random, out.length)]! ^= 1 << int(random, 8)
      return out
    }
    case 1:
      return out.subarray(0, int(random, out.length)) // truncated
    case 2: {
      const at = int(random, out.length + 1)
      const extra = randomBytes(random, 1 + int(random, 16))
      return Uint8Array.from([...out.subarray(0, at), ...extra, ...out.subarray(at)])
    }
    case 3:
      return Uint8Array.from([...out, ...randomBytes(random, 1 + int(random, 64))]) // trailing bytes
    default: {
      if (out.length > 1) out[0] = int(random, 256) // another (or no) message type
      return out
    }
  }
}

/** Whether the node will handle the frame (true) or drop the connection over it (false). */
export function decodes(frame: Uint8Array): boolean {
  try {
    decodeMessage(frame)
    return true
  } catch {
    return false
  }
}

/** A hostile sync frame: a random message, mutated two times out of three. */
export function hostileFrame(random: Random, docId: string): Uint8Array {
  const frame = encodeMessage(randomMessage(random, docId))
  return random() < 1 / 3 ? frame : mutate(random, frame)
}

/** The first bytes a genuine Noise initiator sends (one handshake record), captured on a local server. */
export async function capturedHandshake(keyPair: KeyPair): Promise<Uint8Array> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  const port = (server.address() as { port: number }).port
  const first = new Promise<Uint8Array>((resolve) =>
    server.once('connection', (socket: Socket) => {
      socket.once('data', (chunk: Buffer) => {
        resolve(Uint8Array.from(chunk))
        socket.destroy()
      })
    }),
  )
  const socket = connect({ host: HOST, port })
  socket.on('error', () => undefined)
  const stream = new SecretStream(true, socket, { keyPair })
  stream.on('error', () => undefined)
  const bytes = await first
  stream.destroy()
  socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return bytes
}

/** Resolves when the socket is closed, destroying it after `ms` if the node has not closed it by then. */
function closedWithin(socket: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve()
    const timer = setTimeout(() => socket.destroy(), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** Connects a raw socket, writes `chunks`, ends its side, and waits for the close. */
export async function rawGarbage(port: number, chunks: readonly Uint8Array[]): Promise<void> {
  const socket = connect({ host: HOST, port })
  socket.on('error', () => undefined)
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve)
    socket.once('error', () => resolve())
  })
  for (const c of chunks) if (!socket.destroyed) socket.write(c)
  if (!socket.destroyed) socket.end()
  await closedWithin(socket, 3000)
}

/**
 * Completes a genuine Noise handshake with the node as `keyPair`, then writes `plaintext` records
 * straight into the encrypted stream (our own framing bypassed), ends, and waits for the close.
 * Resolves true if the handshake completed.
 */
export async function noiseGarbage(
  port: number,
  keyPair: KeyPair,
  plaintext: readonly Uint8Array[],
): Promise<boolean> {
  const socket = connect({ host: HOST, port })
  socket.on('error', () => undefined)
  const stream = new SecretStream(true, socket, { keyPair })
  stream.on('error', () => undefined)
  stream.on('data', () => undefined)
  const opened = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000)
    stream.on('open', () => {
      clearTimeout(timer)
      resolve(true)
    })
    stream.on('close', () => {
      clearTimeout(timer)
      resolve(false)
    })
  })
  if (opened) {
    for (const p of plaintext) stream.write(p)
    stream.end()
  }
  await closedWithin(socket, 3000)
  stream.destroy()
  return opened
}
