/**
 * A peer's messages about a document the host is opening (`SessionHost.wake`, src/shared/sync/session.ts):
 * they wait for the open, and are handled after it in the order they came; what waits is bounded
 * (MAX_WAITING_BYTES), and a flood past the bound is told once, not once per message.
 */
import { describe, expect, it } from 'vitest'
import { encodeMessage, PROTOCOL_VERSION, Channel, type Message } from '../../../src/shared/sync/messages'
import { MAX_WAITING_BYTES, PeerSession, type SessionHost } from '../../../src/shared/sync/session'

const DOC = 'ab'.repeat(16)
const OTHER = 'cd'.repeat(16)

/** A host that holds no document, and opens `DOC` when `open()` is called (wake). */
function host() {
  const logs: string[] = []
  const wakes: string[] = []
  let open: () => void = () => undefined
  const opening = new Promise<void>((resolve) => (open = resolve))
  const h: SessionHost = {
    deviceKey: new Uint8Array(32),
    name: 'here',
    appVersion: 'test',
    doc: () => undefined,
    docsFor: () => [],
    sharedDocs: () => [],
    onHello: () => undefined,
    onSharedDocs: () => undefined,
    onJoinRequest: () => undefined,
    redeemInvite: () => 'invite-invalid',
    onJoinAccepted: () => undefined,
    onKeyShare: () => undefined,
    onDocDenied: () => undefined,
    onDocReady: () => undefined,
    onFileVersions: () => undefined,
    wake: (_session, docId) => {
      wakes.push(docId)
      return docId === DOC ? opening : undefined
    },
    log: (m) => logs.push(m),
  }
  return { h, logs, wakes, open: () => open() }
}

function session(h: SessionHost): (m: Message) => void {
  const s = new PeerSession(
    {
      remoteKey: new Uint8Array(32).fill(7),
      handshakeHash: new Uint8Array(64),
      send: () => undefined,
      close: () => undefined,
    },
    h,
    { hmacSha256: () => new Uint8Array(32), equal: () => false },
  )
  const receive = (m: Message): void => s.receive(encodeMessage(m))
  receive({ type: 'hello', protocol: PROTOCOL_VERSION, app: 'x', name: 'peer', gotYours: true })
  return receive
}

const update = (docId: string, bytes: number): Message => ({
  type: 'update',
  docId,
  channel: Channel.Text,
  batch: new Uint8Array(bytes),
  sentTo: [],
})

const handled = (logs: readonly string[], docId: string): number =>
  logs.filter((l) => l.startsWith(`dropped data for ${docId.slice(0, 8)}`)).length

describe('PeerSession: messages wait for their document to open', () => {
  it('holds them until the open is over, asks once, and leaves other documents alone', async () => {
    const { h, logs, wakes, open } = host()
    const receive = session(h)
    for (let i = 0; i < 3; i++) receive(update(DOC, 100))
    receive(update(OTHER, 100)) // the host does not open that one: handled (here, dropped) at once
    expect(wakes).toEqual([DOC, OTHER])
    expect(handled(logs, DOC)).toBe(0)
    expect(handled(logs, OTHER)).toBe(1)
    open()
    await new Promise((r) => setTimeout(r, 0))
    expect(handled(logs, DOC)).toBe(3)
    // Waiting is over: the next one asks again.
    receive(update(DOC, 100))
    expect(wakes).toEqual([DOC, OTHER, DOC])
  })

  it('keeps at most MAX_WAITING_BYTES waiting; past it, drops them and says so once', async () => {
    const { h, logs, open } = host()
    const receive = session(h)
    const each = 1 << 20
    const sent = MAX_WAITING_BYTES / each + 4
    for (let i = 0; i < sent; i++) receive(update(DOC, each))
    expect(logs.filter((l) => l.includes('too many wait for it to open'))).toHaveLength(1)
    open()
    await new Promise((r) => setTimeout(r, 0))
    const kept = handled(logs, DOC)
    expect(kept).toBeGreaterThanOrEqual(MAX_WAITING_BYTES / each - 1) // a frame is its batch and a header
    expect(kept).toBeLessThan(sent)
  })
})
