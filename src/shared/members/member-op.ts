/**
 * One change to a document's member list, signed by the device that made it and linked by hash to the
 * changes it had seen (docs/PROTOCOL.md, "Members: signed, hash-linked changes"). An op's ID is the
 * SHA-256 of what its author signed, so an op cannot be altered, and a change that names its parents
 * cannot be moved before or after them. Everything here is pure: hashing and signature checks come in
 * through `MemberCrypto`.
 *
 * Signed bytes: `"meshpad/member-op/v1" | u8 length | doc ID (UTF-8) | payload`, where the payload is
 *   u8 format (1) | author key (32 B) | uint seq | u8 kind | [nonce (16 B), kind genesis only]
 *   | uint parent count | parent IDs (32 B each) | target key (32 B) | u8 role | string name | uint time
 * and an op on the wire is `uint payload length | payload | signature (64 B)`.
 */
import { ByteReader, ByteWriter, concatBytes, hasLoneSurrogate } from '../crdt/bytes'
import { CrdtDecodeError } from '../crdt/types'
import { fromHex, toHex, utf8 } from '../sync/hex'

export type MemberRole = 'owner' | 'editor' | 'viewer' | 'removed'
/** Role codes on the wire, and privilege order: a higher code is more privilege. */
export const ROLES: readonly MemberRole[] = ['removed', 'viewer', 'editor', 'owner']
export const privilege = (role: MemberRole): number => ROLES.indexOf(role)

/**
 * `genesis`: the creator's first op, whose nonce and key derive the document ID (`docIdFor`), so no one
 * else can root the document. `legacy-genesis`: the same for a document made before signed members,
 * whose ID derives from nothing; accepted only from a device this one pins as a root.
 */
export type MemberOpKind = 'change' | 'genesis' | 'legacy-genesis'
const KINDS: readonly MemberOpKind[] = ['change', 'genesis', 'legacy-genesis']

export interface MemberOp {
  /** Hex SHA-256 of the signed bytes. */
  readonly id: string
  /** Hex Ed25519 key of the device that made and signed the op. */
  readonly author: string
  /** The author's ops are numbered 1, 2, 3…; each after the first names its predecessor as a parent. */
  readonly seq: number
  readonly kind: MemberOpKind
  readonly nonce: Uint8Array | null
  /** IDs of the ops the author had seen last (the heads of its member list). */
  readonly parents: readonly string[]
  readonly target: string
  readonly role: MemberRole
  readonly name: string
  /** The author's wall clock when it made the op (ms): for display only, never for ordering. */
  readonly time: number
  readonly payload: Uint8Array
  readonly signature: Uint8Array
}

export interface MemberCrypto {
  sha256(data: Uint8Array): Uint8Array
  /** Ed25519; false (never a throw) for a key or signature that is not one. */
  verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean
}

/** Signs with this device's key (Ed25519, 64-byte signature). */
export type Sign = (data: Uint8Array) => Uint8Array

export const MAX_NAME = 64
/** More parents than this is no honest op: an author names the heads it saw, a handful at most. */
export const MAX_PARENTS = 16
const FORMAT = 1
const KEY_BYTES = 32
const ID_BYTES = 32
const NONCE_BYTES = 16
const SIGNATURE_BYTES = 64
const MAX_SEQ = 2 ** 32 - 1
/** Length prefix, the smallest payload (no nonce, parents or name; one-byte numbers), signature. */
const MIN_OP_BYTES = 1 + (1 + KEY_BYTES + 1 + 1 + 1 + KEY_BYTES + 1 + 1 + 1) + SIGNATURE_BYTES
const MAX_TIME = 2 ** 48
const OP_LABEL = utf8('meshpad/member-op/v1')
const DOC_ID_LABEL = utf8('meshpad/doc-id/v1')

/** A new document's ID: derived from its creator's key and a random nonce, so only it can root it. */
export function docIdFor(crypto: MemberCrypto, creator: Uint8Array, nonce: Uint8Array): string {
  return toHex(crypto.sha256(concatBytes(DOC_ID_LABEL, creator, nonce)).subarray(0, 16))
}

export interface NewMemberOp {
  readonly author: string
  readonly seq: number
  readonly kind: MemberOpKind
  readonly nonce?: Uint8Array
  readonly parents: readonly string[]
  readonly target: string
  readonly role: MemberRole
  readonly name: string
  readonly time: number
}

/** Makes and signs an op; throws RangeError for fields no peer would accept. */
export function signMemberOp(crypto: MemberCrypto, docId: string, fields: NewMemberOp, sign: Sign): MemberOp {
  const w = new ByteWriter(160)
  w.byte(FORMAT)
  w.bytes(key(fields.author))
  w.uint(fields.seq)
  w.byte(KINDS.indexOf(fields.kind))
  if (fields.kind === 'genesis') {
    if (fields.nonce?.length !== NONCE_BYTES) throw new RangeError('a genesis op needs a 16-byte nonce')
    w.bytes(fields.nonce)
  }
  w.uint(fields.parents.length)
  for (const p of fields.parents) w.bytes(fromHex(p))
  w.bytes(key(fields.target))
  w.byte(ROLES.indexOf(fields.role))
  w.string(fields.name)
  w.uint(Math.max(0, Math.min(MAX_TIME, Math.floor(fields.time))))
  const payload = w.finish()
  const op = parsePayload(crypto, docId, payload, sign(signedBytes(docId, payload)))
  return op
}

/** Writes ops as a batch: `uint count | op…`. */
export function encodeMemberOps(ops: readonly MemberOp[]): Uint8Array {
  const w = new ByteWriter(64 + ops.length * 200)
  w.uint(ops.length)
  for (const op of ops) {
    w.uint(op.payload.length)
    w.bytes(op.payload)
    w.bytes(op.signature)
  }
  return w.finish()
}

/**
 * Reads a batch. Throws CrdtDecodeError if it is malformed; signatures are not checked here
 * (`verifyMemberOp`), so a node reading its own storage does not pay for them again.
 */
export function decodeMemberOps(crypto: MemberCrypto, docId: string, batch: Uint8Array): MemberOp[] {
  const r = new ByteReader(batch)
  const n = r.count(MIN_OP_BYTES)
  const ops: MemberOp[] = []
  for (let i = 0; i < n; i++) {
    const payload = r.bytes(r.uint())
    ops.push(parsePayload(crypto, docId, payload, r.bytes(SIGNATURE_BYTES)))
  }
  if (!r.done()) throw new CrdtDecodeError('trailing bytes after member ops')
  return ops
}

export function verifyMemberOp(crypto: MemberCrypto, docId: string, op: MemberOp): boolean {
  return crypto.verify(fromHex(op.author), signedBytes(docId, op.payload), op.signature)
}

function parsePayload(
  crypto: MemberCrypto,
  docId: string,
  payload: Uint8Array,
  signature: Uint8Array,
): MemberOp {
  const r = new ByteReader(payload)
  if (r.byte() !== FORMAT) throw new CrdtDecodeError('unknown member op format')
  const author = toHex(r.bytes(KEY_BYTES))
  const seq = r.uint()
  const kind = KINDS[r.byte()]
  if (!kind) throw new CrdtDecodeError('unknown member op kind')
  const nonce = kind === 'genesis' ? r.bytes(NONCE_BYTES).slice() : null
  const parentCount = r.count(ID_BYTES)
  if (parentCount > MAX_PARENTS) throw new CrdtDecodeError(`a member op names over ${MAX_PARENTS} parents`)
  const parents: string[] = []
  for (let i = 0; i < parentCount; i++) parents.push(toHex(r.bytes(ID_BYTES)))
  const target = toHex(r.bytes(KEY_BYTES))
  const role = ROLES[r.byte()]
  if (!role) throw new CrdtDecodeError('unknown member role')
  const name = r.string()
  const time = r.uint()
  if (!r.done()) throw new CrdtDecodeError('trailing bytes in a member op')
  if (seq < 1 || seq > MAX_SEQ) throw new CrdtDecodeError(`member op number ${seq} out of range`)
  if (time > MAX_TIME) throw new CrdtDecodeError('member op time out of range')
  if (name.length > MAX_NAME || hasLoneSurrogate(name)) throw new CrdtDecodeError('bad member name')
  if (new Set(parents).size !== parents.length) throw new CrdtDecodeError('a member op repeats a parent')
  const root = kind !== 'change'
  if (root && (seq !== 1 || parents.length > 0 || target !== author || role !== 'owner')) {
    throw new CrdtDecodeError('a genesis op must be its author’s first, make it owner and have no parents')
  }
  if (!root && parents.length === 0) throw new CrdtDecodeError('a member op without parents')
  const id = toHex(crypto.sha256(signedBytes(docId, payload)))
  return {
    id,
    author,
    seq,
    kind,
    nonce,
    parents,
    target,
    role,
    name,
    time,
    payload,
    signature: signature.slice(),
  }
}

function signedBytes(docId: string, payload: Uint8Array): Uint8Array {
  const id = utf8(docId)
  return concatBytes(OP_LABEL, new Uint8Array([id.length]), id, payload)
}

function key(hex: string): Uint8Array {
  const bytes = fromHex(hex)
  if (bytes.length !== KEY_BYTES) throw new RangeError('a device key is 32 bytes')
  return bytes
}
