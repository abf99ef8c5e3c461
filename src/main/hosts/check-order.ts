/**
 * The `checkOrder` request (src/shared/api.ts): whether this node holds a document's text in the order
 * a window's replica holds it. A window integrates its own keystrokes first: one that lands beside a
 * crafted insert arriving at the same moment is placed there in the window and beside it in the node
 * (which took the insert first), so the window can show an order no one else holds. The window asks
 * once its text has been quiet, and opens the document again if the node's differs
 * (src/renderer/src/binding/order-check.ts; docs/PROTOCOL.md, "Canonical order").
 *
 * Everything a window sends is checked before use, as anything from a renderer: the digest is exactly
 * TEXT_ORDER_BYTES, the version a plain object of at most MAX_REPLICAS replica IDs (each a string of 1
 * to MAX_REPLICA_LENGTH characters) to safe non-negative integers. The answer costs a comparison of
 * versions and, at an equal version, the node's digest, which TextOrder keeps per text state.
 */
import type { TextOrderAnswer } from '../../shared/api'
import { sameVersion, type VersionVector } from '../../shared/crdt'
import { MAX_REPLICA_LENGTH } from '../../shared/crdt/replica-table'
import { MAX_REPLICAS } from '../../shared/crdt/replicas'
import { TEXT_ORDER_BYTES } from '../../shared/sync/messages'
import { sameBytes } from '../net/pairing'
import { WorkspaceError } from '../node/workspace'

/** A window's question, checked: its replica's text version and the digest of its order. */
export interface OrderQuestion {
  readonly version: VersionVector
  readonly digest: Uint8Array
}

/** What the answer reads of the document (DocSession's). */
export interface OrderedDoc {
  textVersion(): VersionVector
  textOrder(): Uint8Array
}

const bad = (message: string): WorkspaceError => new WorkspaceError('BAD_ARGUMENT', message)

const isCounter = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/** The request's arguments as sent, checked; a BAD_ARGUMENT WorkspaceError (BAD_REQUEST) if malformed. */
export function readOrderQuestion(version: unknown, digest: unknown): OrderQuestion {
  if (!(digest instanceof Uint8Array) || digest.length !== TEXT_ORDER_BYTES) {
    throw bad(`The order digest must be ${TEXT_ORDER_BYTES} bytes.`)
  }
  if (typeof version !== 'object' || version === null || Array.isArray(version)) {
    throw bad('The text version must be an object of replica IDs to counters.')
  }
  const proto = Object.getPrototypeOf(version) as unknown
  if (proto !== Object.prototype && proto !== null) throw bad('The text version must be a plain object.')
  const entries = Object.entries(version)
  if (entries.length > MAX_REPLICAS) throw bad(`A text version names at most ${MAX_REPLICAS} replicas.`)
  // No prototype: a replica named like one of Object's properties is only a key here.
  const checked: VersionVector = Object.create(null) as VersionVector
  for (const [replica, counter] of entries) {
    if (replica.length === 0 || replica.length > MAX_REPLICA_LENGTH || !isCounter(counter)) {
      throw bad(
        `A text version maps replica IDs of 1 to ${MAX_REPLICA_LENGTH} characters to non-negative integers.`,
      )
    }
    checked[replica] = counter
  }
  return { version: checked, digest }
}

/**
 * 'unknown' unless the node's text version is the window's (a replica missing from one counts 0 there);
 * then 'same' or 'differs' as their digests are.
 */
export function answerOrderQuestion(doc: OrderedDoc, question: OrderQuestion): TextOrderAnswer {
  if (!sameVersion(question.version, doc.textVersion())) return 'unknown'
  return sameBytes(doc.textOrder(), question.digest) ? 'same' : 'differs'
}
