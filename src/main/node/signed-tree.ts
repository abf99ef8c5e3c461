/**
 * File-tree ops bound to their author (docs/PROTOCOL.md, "Edits bound to their author"): each op of a
 * shared folder's tree (src/shared/tree) carries its device's Ed25519 signature, as a property write
 * does (signed-props.ts), and a peer takes an op only if the replica that made it is bound to a device
 * and that device signed it, however the op arrived (live, relayed, or in a sync reply). So no member
 * can create, move, rename or delete in another device's name, nor take another replica's counters to
 * silence its later ops. Tree ops are rare next to keystrokes (a file made, renamed, moved), so a
 * signature each costs nothing a user feels.
 */
import { ByteWriter } from '../../shared/crdt/bytes'
import type { Sign } from '../../shared/members/member-op'
import { fromHex } from '../../shared/sync/hex'
import type { TreeOp } from '../../shared/tree/tree-ops'
import type { PropCheckDeps } from './signed-props'

const TREE_DOMAIN = Buffer.from('meshpad/tree/1\0')

/** The bytes an op's signature covers: every field of the op, bound to one document (the project). */
export function treePayload(docId: string, op: TreeOp): Uint8Array {
  const out = new ByteWriter(128 + op.node.length + (op.parent?.length ?? 0) + (op.name?.length ?? 0))
  out.bytes(TREE_DOMAIN)
  out.string(docId)
  out.string(op.replica)
  out.uint(op.counter)
  out.uint(op.stamp.wall)
  out.uint(op.stamp.logical)
  out.string(op.node)
  out.byte(op.parent === undefined ? 0 : 1)
  if (op.parent !== undefined) out.string(op.parent)
  out.byte(op.name === undefined ? 0 : 1)
  if (op.name !== undefined) out.string(op.name)
  out.byte(op.kind === 'folder' ? 1 : 0)
  return out.finish()
}

/** Signs this device's tree ops of one document (FileTree's `sign` option). */
export function treeSigner(docId: string, sign: Sign): (op: TreeOp) => Uint8Array {
  return (op) => sign(treePayload(docId, op))
}

export type TreeCheckDeps = Pick<PropCheckDeps, 'docId' | 'deviceOf' | 'isFlagged' | 'verify'>

/**
 * A peer's tree ops sorted: `take` (signed by the device their replica is bound to), `wait` (that
 * binding is not known here yet, or the device is flagged: anti-entropy brings them again) and
 * `forged` (no signature, or one that does not check: whoever sent it is not honest).
 */
export function checkTreeOps(
  ops: readonly TreeOp[],
  deps: TreeCheckDeps,
): { take: TreeOp[]; wait: TreeOp[]; forged: TreeOp[] } {
  const take: TreeOp[] = []
  const wait: TreeOp[] = []
  const forged: TreeOp[] = []
  for (const op of ops) {
    const device = deps.deviceOf(op.replica)
    if (device === undefined || deps.isFlagged(device)) wait.push(op)
    else if (!op.sig || !deps.verify(fromHex(device), treePayload(deps.docId, op), op.sig)) forged.push(op)
    else take.push(op)
  }
  return { take, wait, forged }
}
