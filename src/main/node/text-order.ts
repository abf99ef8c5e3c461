/**
 * TextOrder: notices that a peer holds the same text ops as this node in another order, and then
 * rebuilds this node's text in canonical order (src/shared/crdt/canonical-order.ts; docs/PROTOCOL.md,
 * "Canonical order").
 *
 * Integration is commutative for inserts made as honest replicas make them, but not for an insert
 * whose origins were never neighbours: a member with a modified client can craft one, and an honest
 * insert typed beside an equivocator's characters finds its origins so once peers settle on another
 * version of them. Neither can be told apart when it arrives, and the damage is silent: the same ops,
 * equal version vectors, different texts. So every sync request carries a digest of the sender's text
 * as a sequence of IDs; a node whose text version equals the sender's and whose digest differs
 * rebuilds in canonical order, which gives the same sequence on every node that holds the same ops,
 * and then asks its peers to compare again, so that they rebuild too.
 *
 * Bounds: a digest is O(runs of the sequence), computed once per text state; a rebuild costs about a
 * replay of the document, at most one per REBUILD_INTERVAL_MS, and none while the text is still the
 * one this node last rebuilt (a peer that sends a made-up digest gets nothing more for it).
 */
import { createHash } from 'node:crypto'
import { sameVersion, type TextDoc, type VersionVector } from '../../shared/crdt'
import { forEachOrderChunk } from '../../shared/crdt/order-digest'
import { sameBytes } from '../net/pairing'

export const REBUILD_INTERVAL_MS = 10_000

/** What is read of the node's replica of the text. */
type Text = Pick<TextDoc, 'forEachRun' | 'version' | 'opCount'>

export interface TextOrderDeps {
  /** The node's replica of the text (a rebuild replaces it). */
  text(): Text
  /** Rebuilds the text in canonical order; false if it could not (nothing changed). */
  rebuild(): Promise<boolean>
  /** Sends every peer a sync request, so that it compares its order with the rebuilt one. */
  resync(): void
  log(message: string): void
  /** Milliseconds between rebuilds at least (tests shorten it). */
  readonly intervalMs?: number
}

interface TextState {
  readonly doc: Text
  readonly ops: number
}

export class TextOrder {
  private cached: (TextState & { readonly digest: Uint8Array }) | null = null
  /** The text as last rebuilt here: in canonical order already, so comparing again changes nothing. */
  private canonical: TextState | null = null
  private lastRebuild = -Infinity
  private timer: ReturnType<typeof setTimeout> | null = null
  private rebuilding = false

  constructor(private readonly deps: TextOrderDeps) {}

  /** SHA-256 of the text's sequence of IDs, tombstones included, as runs (src/shared/crdt/order-digest.ts). */
  digest(): Uint8Array {
    const now = this.state()
    if (this.cached?.doc === now.doc && this.cached.ops === now.ops) return this.cached.digest
    const hash = createHash('sha256')
    // The encoding windows hash too (order-digest.ts), fed in chunks: the text is never copied whole.
    forEachOrderChunk(now.doc, (chunk) => hash.update(chunk))
    const digest = new Uint8Array(hash.digest())
    this.cached = { ...now, digest }
    return digest
  }

  /** A peer's sync request: its text version and the digest of its order. `peer` names it in the log. */
  compare(version: VersionVector, order: Uint8Array, peer: string): void {
    if (this.timer !== null || this.rebuilding) return
    const doc = this.deps.text()
    if (!sameVersion(version, doc.version()) || sameBytes(order, this.digest())) return
    if (this.isCanonical()) return
    const wait = Math.max(0, this.lastRebuild + (this.deps.intervalMs ?? REBUILD_INTERVAL_MS) - Date.now())
    this.timer = setTimeout(() => void this.rebuild(peer), wait)
    this.timer.unref?.()
  }

  private async rebuild(peer: string): Promise<void> {
    this.timer = null
    if (this.isCanonical()) return
    this.rebuilding = true
    this.lastRebuild = Date.now()
    try {
      this.deps.log(
        `the text holds the same ops as ${peer}'s in another order (an insert whose origins no honest ` +
          'replica names): rebuilt in canonical order',
      )
      if (!(await this.deps.rebuild())) return
      this.canonical = this.state()
      this.deps.resync()
    } catch (err) {
      this.deps.log(`rebuilding the text in canonical order failed: ${String(err)}`)
    } finally {
      this.rebuilding = false
    }
  }

  private isCanonical(): boolean {
    const now = this.state()
    return this.canonical?.doc === now.doc && this.canonical.ops === now.ops
  }

  private state(): TextState {
    const doc = this.deps.text()
    return { doc, ops: doc.opCount() }
  }
}
