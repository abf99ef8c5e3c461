/**
 * Test support: a hand-driven client that speaks the sync protocol to a live node over the real
 * transport (TCP + Noise XX with its own or a borrowed device key), so that a test can play a stranger,
 * a thief holding a stolen key, a modified client, or a garbage source. Every frame it receives is kept
 * raw and decoded, so a test can check both what arrived and that no secret appears in any of it.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '../../src/main/net/device-key'
import type { KeyPair } from '../../src/main/net/secure-channel'
import { Transport } from '../../src/main/net/transport'
import { nodeCrypto, signerFor } from '../../src/main/node/crypto'
import type { Sign } from '../../src/shared/members/member-op'
import { toHex } from '../../src/shared/sync/hex'
import {
  Channel,
  decodeMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  type Message,
} from '../../src/shared/sync/messages'
import type { CloseInfo, PeerConnection } from '../../src/shared/sync/peer-connection'
import { docProof } from '../../src/shared/sync/session'
import { HOST } from './util'

export class ProtocolClient {
  /** Decoded frames from the node, in order (frames that do not decode are only in `frames`). */
  readonly received: Message[] = []
  readonly frames: Uint8Array[] = []
  readonly closed: Promise<CloseInfo>
  private readonly waiters = new Set<() => void>()

  private constructor(
    readonly transport: Transport,
    readonly connection: PeerConnection,
    readonly keyPair: KeyPair,
  ) {
    this.closed = new Promise((resolve) => connection.onClose(resolve))
    connection.onMessage((frame) => {
      this.frames.push(frame)
      try {
        this.received.push(decodeMessage(frame))
      } catch {
        // kept in `frames` only
      }
      for (const w of [...this.waiters]) w()
    })
  }

  /** Dials 127.0.0.1:port as `keyPair` (default: a fresh device nobody knows). */
  static async connect(
    port: number,
    options: { keyPair?: KeyPair; maxFrameSize?: number } = {},
  ): Promise<ProtocolClient> {
    const keyPair = options.keyPair ?? generateKeyPair()
    const transport = new Transport({
      keyPair,
      log: () => undefined,
      ...(options.maxFrameSize !== undefined ? { maxFrameSize: options.maxFrameSize } : {}),
    })
    try {
      const connection = await transport.dial(HOST, port)
      return new ProtocolClient(transport, connection, keyPair)
    } catch (err) {
      await transport.close()
      throw err
    }
  }

  send(m: Message): void {
    this.connection.send(encodeMessage(m))
  }

  /** Sends our hello and waits for the node's. */
  async hello(name = 'client'): Promise<void> {
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, app: 'test', name, gotYours: false })
    await this.waitFor((m) => m.type === 'hello', 5000)
  }

  /**
   * Says hello until the node's hello says it has ours: the node greets first as it attaches, so its
   * first hello may say `gotYours: false` even though ours is on the way (a real session answers that
   * by saying hello again).
   */
  async greet(name: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      await this.hello(name)
      try {
        await this.waitFor((m) => m.type === 'hello' && m.gotYours, 500)
        return
      } catch {
        // not yet: say it again
      }
    }
    throw new Error(`${name}: the node never got our hello`)
  }

  /** A genuine membership proof for this connection, made with `key` (the document key of `epoch`). */
  proof(key: Uint8Array, docId: string, epoch: number): Message {
    return {
      type: 'doc-auth',
      docId,
      epoch,
      proof: docProof(nodeCrypto, key, this.connection.handshakeHash, docId, this.keyPair.publicKey, epoch),
      verified: true,
    }
  }

  /** Resolves with the first message received (already or from now on) that matches. */
  waitFor<T extends Message>(match: (m: Message) => m is T, timeoutMs: number): Promise<T>
  waitFor(match: (m: Message) => boolean, timeoutMs: number): Promise<Message>
  waitFor(match: (m: Message) => boolean, timeoutMs: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.received.find(match)
        if (!found) return false
        clearTimeout(timer)
        this.waiters.delete(watch)
        resolve(found)
        return true
      }
      const watch = (): void => void check()
      const timer = setTimeout(() => {
        this.waiters.delete(watch)
        const types = this.received.map((m) => m.type).join(', ')
        reject(new Error(`no matching message within ${timeoutMs} ms; received: ${types}`))
      }, timeoutMs)
      if (!check()) this.waiters.add(watch)
    })
  }

  /** Types of every message received. */
  types(): string[] {
    return this.received.map((m) => m.type)
  }

  async close(): Promise<void> {
    this.connection.close('test done')
    await this.transport.close()
  }
}

/** A device played by a hand-driven client: its key pair, and its signature (member ops, seals). */
/** A live batch on a channel, as a member's client sends one. */
export const update = (docId: string, channel: Channel, batch: Uint8Array): Message => ({
  type: 'update',
  docId,
  channel,
  batch,
  sentTo: [],
})

export interface Device {
  readonly name: string
  readonly keyPair: KeyPair
  readonly key: string
  readonly sign: Sign
}

export function device(name: string): Device {
  const keyPair = generateKeyPair()
  return { name, keyPair, key: toHex(keyPair.publicKey), sign: signerFor(keyPair) }
}

/**
 * Resolves once the node has read everything `c` sent so far: frames are handled in order, and a
 * doc-auth for a document nobody holds is answered at once.
 */
export async function processed(c: ProtocolClient): Promise<void> {
  const sentinel = randomBytes(16).toString('hex')
  c.send({ type: 'doc-auth', docId: sentinel, epoch: 0, proof: new Uint8Array(32), verified: false })
  await c.waitFor((m) => m.type === 'doc-deny' && m.docId === sentinel, 5000)
}

/**
 * `dev`, a member of `doc`, dialing the node on `port`: greeted, proven a member with the document's
 * current key, and past the node's first sync-request (so it is authenticated for the document).
 */
export async function connectMember(
  dev: Device,
  port: number,
  doc: { readonly docId: string; readonly epoch: number; keyFor(epoch: number): Uint8Array | undefined },
): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(port, { keyPair: dev.keyPair })
  try {
    await c.greet(dev.name)
    c.send(c.proof(doc.keyFor(doc.epoch)!, doc.docId, doc.epoch))
    await c.waitFor((m) => m.type === 'sync-request' && m.docId === doc.docId, 5000)
    return c
  } catch (err) {
    await c.close().catch(() => undefined)
    throw err
  }
}
