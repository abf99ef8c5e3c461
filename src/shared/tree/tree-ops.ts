/**
 * The one op of the file tree (README.md): move `node` under `parent` with `name`, stamped. Create,
 * rename and delete are all this op. A rename leaves `parent` out and a plain move leaves `name` out,
 * so that a rename and a move of one node made concurrently both take effect (each op sets only
 * what its user changed; with both always set, the later op would undo the other entirely). Here: the op's type, its checks, its total order and its binary
 * form. Decoding treats the bytes as hostile: every count and length is bounded before use, and
 * anything malformed throws CrdtDecodeError with nothing returned.
 */
import { ByteReader, ByteWriter, hasLoneSurrogate } from '../crdt/bytes'
import { compareStamps, isTooFarAhead, isValidStamp, type Timestamp } from '../crdt/hlc'
import { StampAheadError } from '../crdt/lww-map'
import { checkReplicaId, readHeader, writeHeader } from '../crdt/replica-table'
import { CrdtDecodeError } from '../crdt/types'

/** The root folder and the trash: fixed IDs no replica makes (made IDs are `replica:counter`). */
export const ROOT = 'root'
export const TRASH = 'trash'

export type NodeKind = 'file' | 'folder'

export interface TreeOp {
  /** The replica that made the op, and its counter for it (1, 2, …): for version vectors. */
  readonly replica: string
  readonly counter: number
  readonly stamp: Timestamp
  readonly node: string
  /** Undefined: the node stays in the folder it is in at this op's place in the order (a rename). */
  readonly parent: string | undefined
  /** Undefined: the node keeps the name it has at this op's place in the order (a move). */
  readonly name: string | undefined
  /** Read only from the op that first places the node (in stamp order): a node never changes kind. */
  readonly kind: NodeKind
  /**
   * Its author's signature (Ed25519, SIGNATURE_BYTES), over what `treePayload` (src/main/node/
   * signed-tree.ts) makes of the op: carried with the op everywhere, so that any peer can check who
   * made it, however it arrived.
   */
  readonly sig?: Uint8Array
}

/** The length of an op's signature. */
export const SIGNATURE_BYTES = 64

/** Ops in one batch, at most: bounds what one message can make a replica undo and redo. */
export const MAX_OPS_PER_BATCH = 10_000
/**
 * Nodes a tree holds, the trash's included (nothing leaves a tree): a create past it is skipped,
 * as every replica decides alike at the op's place in the order. A folder of more than 100,000
 * entries cannot be shared (src/main/folder/scan-folder.ts), so no honest tree comes near it.
 */
export const MAX_NODES = 100_000
/**
 * The longest path (UTF-16 code units) the app lists, opens and writes to a folder (Linux's
 * PATH_MAX): a node nested deeper by a peer stays in the tree, out of sight (`FileTree.list`).
 */
export const MAX_LISTED_PATH = 4096
/** The longest name most file systems accept, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255
/** A node ID, in UTF-8 bytes: a replica ID (≤ 64 characters), a colon and a counter fit easily. */
export const MAX_NODE_ID_BYTES = 300

const KIND_TREE_BATCH = 7
const F_FOLDER = 1
const F_SAME_AGENT = 2
const F_IMPLICIT_COUNTER = 4
const F_SAME_PARENT = 8
const F_SAME_NAME = 16
const F_SIGNED = 32

const utf8 = new TextEncoder()

/** Why `name` cannot be a file or folder name, or undefined if it can. */
export function badName(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a name must be a non-empty string'
  if (name === '.' || name === '..') return `"${name}" is not a name`
  if (name.includes('/') || name.includes('\0')) return 'a name must not hold "/" or NUL'
  if (hasLoneSurrogate(name)) return 'a name must not hold an unpaired surrogate'
  if (utf8.encode(name).length > MAX_NAME_BYTES) return `a name is at most ${MAX_NAME_BYTES} UTF-8 bytes`
  return undefined
}

function badNodeId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'a node ID must be a non-empty string'
  if (hasLoneSurrogate(id)) return 'a node ID must not hold an unpaired surrogate'
  if (utf8.encode(id).length > MAX_NODE_ID_BYTES) return `a node ID is at most ${MAX_NODE_ID_BYTES} bytes`
  return undefined
}

/** Why `op` is malformed, or undefined if it is well formed. The root and trash never move. */
export function badOp(op: TreeOp): string | undefined {
  if (typeof op !== 'object' || op === null) return 'an op must be an object'
  try {
    checkReplicaId(op.replica)
  } catch (e) {
    return (e as Error).message
  }
  if (!Number.isSafeInteger(op.counter) || op.counter < 1) return 'a counter is a positive integer'
  if (typeof op.stamp !== 'object' || op.stamp === null || !isValidStamp(op.stamp))
    return 'stamp out of range'
  if (op.kind !== 'file' && op.kind !== 'folder') return 'a kind is "file" or "folder"'
  const bad =
    badNodeId(op.node) ??
    (op.parent === undefined ? undefined : badNodeId(op.parent)) ??
    (op.name === undefined ? undefined : badName(op.name))
  if (bad) return bad
  if (op.node === ROOT || op.node === TRASH) return 'the root and the trash never move'
  if (op.node === op.parent) return 'a node cannot be its own parent'
  if (op.sig !== undefined && (!(op.sig instanceof Uint8Array) || op.sig.length !== SIGNATURE_BYTES))
    return `a signature is ${SIGNATURE_BYTES} bytes`
  return undefined
}

/** The total order ops are applied in: stamp, then replica, then counter (so it is total even for a peer reusing stamps). */
export function compareOps(a: TreeOp, b: TreeOp): number {
  return compareStamps(a.stamp, a.replica, b.stamp, b.replica) || a.counter - b.counter
}

/**
 * Refuses peers' ops stamped more than the drift window ahead of `now` (hlc.ts), as LwwMap's
 * checkStampWindow does: such an op would win every later conflict until the clocks caught up. The
 * caller checks before `apply`; replaying this replica's own storage is not checked.
 */
export function checkStampWindow(ops: readonly TreeOp[], now: number): void {
  for (const op of ops) if (isTooFarAhead(op.stamp, now)) throw new StampAheadError(op.stamp, now)
}

export function encodeOps(ops: readonly TreeOp[]): Uint8Array {
  if (ops.length > MAX_OPS_PER_BATCH) throw new RangeError(`at most ${MAX_OPS_PER_BATCH} ops in a batch`)
  const table: string[] = []
  const agents = new Map<string, number>()
  const expected: number[] = []
  const body = new ByteWriter(16 + ops.length * 32)
  let prev = 0
  body.uint(ops.length)
  for (const op of ops) {
    // Encoding a malformed op would make a batch no peer decodes: refused here, at the source.
    const bad = badOp(op)
    if (bad) throw new RangeError(`encodeOps: ${bad}`)
    let agent = agents.get(op.replica)
    if (agent === undefined) {
      agent = table.push(op.replica) - 1
      agents.set(op.replica, agent)
    }
    let flags = op.kind === 'folder' ? F_FOLDER : 0
    if (agent === prev) flags |= F_SAME_AGENT
    if (op.counter === expected[agent]) flags |= F_IMPLICIT_COUNTER
    if (op.parent === undefined) flags |= F_SAME_PARENT
    if (op.name === undefined) flags |= F_SAME_NAME
    if (op.sig !== undefined) flags |= F_SIGNED
    body.byte(flags)
    if (!(flags & F_SAME_AGENT)) body.uint(agent)
    if (!(flags & F_IMPLICIT_COUNTER)) body.uint(op.counter)
    body.uint(op.stamp.wall)
    body.uint(op.stamp.logical)
    body.string(op.node)
    if (op.parent !== undefined) body.string(op.parent)
    if (op.name !== undefined) body.string(op.name)
    if (op.sig !== undefined) body.bytes(op.sig)
    prev = agent
    expected[agent] = op.counter + 1
  }
  const out = new ByteWriter(32 + body.length)
  writeHeader(out, KIND_TREE_BATCH, table)
  out.bytes(body.finish())
  return out.finish()
}

/** The ops of a batch. Throws CrdtDecodeError, and only that, on anything malformed. */
export function decodeOps(bytes: Uint8Array): TreeOp[] {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  const r = new ByteReader(bytes)
  const { replicas } = readHeader(r, [KIND_TREE_BATCH], 'tree batch')
  // Each op takes at least 4 bytes: flags, wall, logical and the node ID's length.
  const count = r.count(4)
  if (count > MAX_OPS_PER_BATCH)
    throw new CrdtDecodeError(`${count} ops in a batch (at most ${MAX_OPS_PER_BATCH})`)
  const ops: TreeOp[] = []
  const expected: number[] = []
  let prev = 0
  for (let i = 0; i < count; i++) {
    const flags = r.byte()
    if (flags & ~63) throw new CrdtDecodeError('reserved flag bits set')
    const agent = flags & F_SAME_AGENT ? prev : r.uint()
    const replica = replicas[agent]
    if (replica === undefined) throw new CrdtDecodeError(`replica index ${agent} outside the table`)
    let counter: number
    if (flags & F_IMPLICIT_COUNTER) {
      const next = expected[agent]
      if (next === undefined) throw new CrdtDecodeError('implicit counter with nothing before it')
      counter = next
    } else counter = r.uint()
    const stamp = { wall: r.uint(), logical: r.uint() }
    const op: TreeOp = {
      replica,
      counter,
      stamp,
      node: r.string(),
      parent: flags & F_SAME_PARENT ? undefined : r.string(),
      name: flags & F_SAME_NAME ? undefined : r.string(),
      kind: flags & F_FOLDER ? 'folder' : 'file',
      ...(flags & F_SIGNED ? { sig: r.bytes(SIGNATURE_BYTES).slice() } : {}),
    }
    const bad = badOp(op)
    if (bad) throw new CrdtDecodeError(bad)
    ops.push(op)
    prev = agent
    expected[agent] = counter + 1
  }
  if (!r.done()) throw new CrdtDecodeError('trailing bytes')
  return ops
}
