/**
 * Test support: a minimal set of crafted text ops whose sequence depends on the order they arrive in
 * (e's inserts name origins that were never neighbours), as a hostile member's modified client can
 * make them, and the node's digest of a text's order. Used by the node's order digest tests (test/main/node/text-order.test.ts) and the window's
 * (test/main/hosts/check-order.test.ts, test/renderer/order-check.test.ts).
 */
import { TextOrder } from '../../src/main/node/text-order'
import type { TextDoc } from '../../src/shared/crdt'
import { InsertOp } from '../../src/shared/crdt/ops'
import { encodeTextOps } from '../../src/shared/crdt/text-codec'

/** A node's digest of `doc`'s order (TextOrder, node:crypto: what sync requests carry). */
export const nodeOrderDigest = (doc: TextDoc): Uint8Array =>
  new TextOrder({
    text: () => doc,
    rebuild: () => Promise.resolve(false),
    resync: () => undefined,
    log: () => undefined,
  }).digest()

/**
 * Batches whose order of arrival decides where e's insert lands, in two orders that give two texts.
 * `replicas` names a, b, c and e (in that order, and sorted alike: integration orders siblings by
 * replica ID, so other names give the same two texts only if they sort as a < b < c < e do).
 */
export function orderDependent(replicas: readonly [string, string, string, string] = ['a', 'b', 'c', 'e']): {
  inOrder: Uint8Array[]
  reordered: Uint8Array[]
} {
  const ids = [...replicas]
  const op = (agent: number, counter: number, text: string, left: number[], right: number[]): Uint8Array =>
    encodeTextOps(ids, [
      new InsertOp(agent, counter, text, left[0] ?? -1, left[1] ?? 0, right[0] ?? -1, right[1] ?? 0),
    ])
  const a1 = op(0, 1, 'a', [], [])
  const b1 = op(1, 1, 'b', [], [])
  const b2 = op(1, 2, 'B', [1, 1], [])
  const c1 = op(2, 1, 'c', [], [])
  const c2 = op(2, 2, 'C', [2, 1], [])
  const c3 = op(2, 3, 'x', [], [2, 1])
  const e1 = op(3, 1, 'e', [0, 1], [])
  const e2 = op(3, 2, 'E', [], [1, 2])
  return { inOrder: [b1, a1, b2, c1, c2, e1, e2, c3], reordered: [e1, b2, a1, c1, e2, c3, c2, b1] }
}
