/**
 * Whether the node holds the document's text in the order this window's replica holds it, asked once
 * the text has been quiet. The window integrates its own keystrokes first: one that lands beside a
 * crafted insert (an insert whose origins were never neighbours, from a hostile member's modified
 * client) arriving at the same moment is placed before it here and after it in the node, which took
 * the insert first. The window would then show an order no one else holds, and what is typed next
 * would name origins placed differently everywhere else. Nodes mend such differences between them
 * (docs/PROTOCOL.md, "Canonical order"); a window mends its own by opening the document again, which
 * gives it the node's order.
 *
 * Bounds: one check per quiet text state (QUIET_MS with no local or remote change and no push in
 * flight), none while typing goes on; a check costs one digest of the replica's order here and a
 * version comparison in the node (its digest is kept per text state).
 */
import type { ApiResult, TextOrderAnswer } from '../../../shared/api'
import type { TextDoc, VersionVector } from '../../../shared/crdt'
import { orderBytes, type OrderedText } from '../../../shared/crdt/order-digest'

/** How long the text must stay unchanged before the node is asked. */
export const QUIET_MS = 1500

export interface OrderCheckDeps {
  /** The window's replica of the document. */
  readonly replica: Pick<TextDoc, 'version' | 'forEachRun' | 'opCount'>
  /** Asks the node about the document (the app API's `checkOrder`). */
  readonly ask: (version: VersionVector, digest: Uint8Array) => Promise<ApiResult<TextOrderAnswer>>
  /** The node holds the text in another order: open the document again, as on `reset`. */
  readonly differs: () => void
  /** Quiet before asking, in ms (tests shorten it). */
  readonly quietMs?: number
}

/** SHA-256 of the order of `text` with WebCrypto: the bytes, and so the digest, its node's TextOrder has. */
export async function orderDigest(text: OrderedText): Promise<Uint8Array> {
  // A fresh array over its own ArrayBuffer (never a shared one), as WebCrypto's BufferSource asks.
  const bytes = orderBytes(text) as Uint8Array<ArrayBuffer>
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
}

export class OrderCheck {
  private timer: ReturnType<typeof setTimeout> | null = null
  /** Pushes of the replica's ops not answered yet: until then the node may lack them. */
  private pushes = 0
  /** The replica's op count when last asked about: it names a text state (ops only ever add up). */
  private asked = -1
  private closed = false

  constructor(private readonly deps: OrderCheckDeps) {}

  /** The replica changed (a local edit or a batch from the node): the quiet starts again. */
  changed(): void {
    if (this.closed) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.check()
    }, this.deps.quietMs ?? QUIET_MS)
  }

  /** A push of the replica's ops to the node: no check until it is answered, and the quiet after. */
  pushing(push: Promise<unknown>): void {
    this.pushes++
    this.changed()
    const settled = (): void => {
      this.pushes--
      this.changed()
    }
    push.then(settled, settled)
  }

  /** The window leaves the document (or its replica): nothing more is asked, and no answer acted on. */
  close(): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private async check(): Promise<void> {
    const { replica } = this.deps
    const state = replica.opCount()
    if (this.closed || this.pushes > 0 || state === this.asked) return
    this.asked = state
    // An answer about a state the replica has left is not acted on: the change that left it has
    // started the quiet again, and the next state is asked about in turn.
    const current = (): boolean => !this.closed && this.pushes === 0 && replica.opCount() === state
    try {
      const version = replica.version()
      const digest = await orderDigest(replica)
      if (!current()) return
      const answer = await this.deps.ask(version, digest)
      if (current() && answer.ok && answer.value === 'differs') this.deps.differs()
    } catch {
      // No WebCrypto (an insecure context) or no node: the text stays as it is, as before this check.
    }
  }
}
