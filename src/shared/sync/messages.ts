/**
 * The messages of the Meshpad sync protocol (docs/PROTOCOL.md), and their binary form. A frame's
 * payload is one message: a type byte, then fields. Every message comes from an untrusted peer, so
 * decoding checks every field (type, length, range) before anything uses it, and a message that fails
 * any check is a `ProtocolError`: the caller drops that one connection.
 */
import { ByteReader, ByteWriter, truncateString } from '../crdt/bytes'
import { MAX_REPLICA_LENGTH } from '../crdt/replica-table'
import { CrdtDecodeError, type VersionVector } from '../crdt/types'
import { toHex } from './hex'

/**
 * 10: signatures are checked as libsodium checks them (src/main/node/crypto.ts), which refuses some
 * that OpenSSL took (keys of small order). A rule on what counts as signed is the protocol's: a node
 * of 9 and one of 10 could disagree on a hostile member's op, so they do not sync.
 * 11: seals sign the block form of a replica's stream (src/main/node/stream-digest.ts), whose text a
 * node may drop block by block, and text batches may carry the hashes of dropped blocks; a node of 10
 * could check neither.
 */
export const PROTOCOL_VERSION = 11
/** A sync request's digest of the text's order (SHA-256). */
export const TEXT_ORDER_BYTES = 32
const EMPTY_ORDER = new Uint8Array(0)
export const DOC_ID_BYTES = 16
export const KEY_BYTES = 32
export const PROOF_BYTES = 32
export const SIGNATURE_BYTES = 64
const MAX_NAME = 64
const MAX_TEXT = 256
const MAX_AWARENESS_JSON = 4096
const MAX_VECTOR_ENTRIES = 100_000
/** Bytes of a device key that name it in an update's recipient list. */
export const PEER_TAG_BYTES = 8
export const MAX_SENT_TO = 64

/** The tag of a device (hex of its key's first PEER_TAG_BYTES bytes). */
export const peerTag = (deviceKeyHex: string): string => deviceKeyHex.slice(0, PEER_TAG_BYTES * 2)

/** A device lists at most this many documents on the LAN (it bounds what a stranger can make us hold). */
export const MAX_SHARED_DOCS = 256

/**
 * A `file-versions` message lists at most this many files (~100 KB): a project of 20,000 files
 * (MAX_FILES_PER_PROJECT) takes five. A longer list is a ProtocolError.
 */
export const MAX_FILE_VERSIONS = 4096
/** Bytes of one file's digest of what it holds in `file-versions` (src/main/node/file-versions.ts). */
export const FILE_DIGEST_BYTES = 8

/** One file of a project in `file-versions`: its document ID and a digest of what the sender holds of it. */
export interface FileVersion {
  readonly file: string
  readonly digest: Uint8Array
}

/** Which replicated structure of a document an update belongs to. */
/**
 * What a batch holds. Seals (src/main/node/replica-seal.ts) vouch for text ops: who wrote them. They
 * travel in updates, and ahead of the text of a sync reply; they are not one of a document's CRDTs.
 */
/** Tree: a shared folder's file tree (src/shared/tree), its batches as src/shared/tree/tree-part.ts lays them out. */
/**
 * Versions: of an equivocating device's replicas, each a seal and the ops it covers
 * (src/main/node/versions.ts); evidence, like seals, not one of a document's CRDTs.
 */
export const Channel = { Text: 0, Props: 1, Members: 2, Seals: 3, Tree: 4, Versions: 5 } as const
export type Channel = (typeof Channel)[keyof typeof Channel]
/** The channels that are a document's CRDTs (versions, sync replies). */
export const CHANNELS: readonly Channel[] = [Channel.Text, Channel.Props, Channel.Members, Channel.Tree]

export type DocVersions = readonly [
  text: VersionVector,
  props: VersionVector,
  members: VersionVector,
  tree: VersionVector,
]
export type DocBatches = readonly [text: Uint8Array, props: Uint8Array, members: Uint8Array, tree: Uint8Array]

/**
 * Why a peer refused a document. A doc-auth from a non-member gets `not-a-member` whether or not the
 * document exists there; `unknown-doc` is no longer sent (it told strangers which documents a device
 * holds) and is kept only so that older peers' denials still decode.
 */
export type DenyCode =
  'unknown-doc' | 'not-a-member' | 'bad-proof' | 'read-only' | 'invite-invalid' | 'denied'
const DENY_CODES: readonly DenyCode[] = [
  'unknown-doc',
  'not-a-member',
  'bad-proof',
  'read-only',
  'invite-invalid',
  'denied',
]

export type Role = 'owner' | 'editor' | 'viewer'
const ROLES: readonly Role[] = ['owner', 'editor', 'viewer']

/** One document offered to LAN peers (after the Noise handshake, never over mDNS). */
export interface SharedDocInfo {
  readonly docId: string
  readonly title: string
  readonly ownerName: string
  readonly memberCount: number
}

export type Message =
  /** First message each way: protocol version, app version, the sender's display name. */
  | {
      readonly type: 'hello'
      readonly protocol: number
      readonly app: string
      readonly name: string
      /** Whether the sender has the receiver's hello (if not, the receiver sends it again). */
      readonly gotYours: boolean
    }
  /** "I am a member of docId and hold its key (of this epoch)": an HMAC bound to this connection. */
  | {
      readonly type: 'doc-auth'
      readonly docId: string
      readonly epoch: number
      readonly proof: Uint8Array
      /** Whether the sender has already verified the receiver's proof (else the receiver sends it). */
      readonly verified: boolean
    }
  | { readonly type: 'doc-deny'; readonly docId: string; readonly code: DenyCode; readonly reason: string }
  /**
   * "Here is what I have": the peer answers with what the sender lacks. Also the anti-entropy probe.
   * `order`: a digest of the sender's text as a sequence of IDs (TEXT_ORDER_BYTES), which a peer with
   * the same text version compares with its own (src/main/node/text-order.ts).
   */
  | {
      readonly type: 'sync-request'
      readonly docId: string
      readonly versions: DocVersions
      readonly order?: Uint8Array
    }
  | { readonly type: 'sync-reply'; readonly docId: string; readonly batches: DocBatches }
  | {
      readonly type: 'update'
      readonly docId: string
      readonly channel: Channel
      readonly batch: Uint8Array
      /**
       * Devices (key prefixes, PEER_TAG_BYTES each) this batch was already sent to, the receiver
       * included: a relay skips them, so a full mesh does not pass every keystroke on again.
       */
      readonly sentTo: readonly string[]
    }
  /** "Send me a seal of this replica covering its ops up to `counter`" (ops held for one). */
  | {
      readonly type: 'seal-request'
      readonly docId: string
      readonly replica: string
      readonly counter: number
    }
  /**
   * Ephemeral presence (cursor, selection, name, colour) as JSON, signed by the device it is about
   * (`origin`), relayed through the mesh like updates (src/shared/sync/presence.ts); expires unless
   * refreshed. `hops`: relays it went through; `sentTo` as in `update`.
   */
  | {
      readonly type: 'awareness'
      readonly docId: string
      readonly origin: string
      readonly seq: number
      readonly hops: number
      readonly state: string
      readonly signature: Uint8Array
      readonly sentTo: readonly string[]
    }
  /** The sender no longer has a path to `origin` (whose presence it last had at `seq`). */
  | { readonly type: 'awareness-gone'; readonly docId: string; readonly origin: string; readonly seq: number }
  /** A newer document key, after a member was removed; only sent to authenticated members. */
  | { readonly type: 'key-share'; readonly docId: string; readonly epoch: number; readonly key: Uint8Array }
  /** A non-member asks to join; an owner answers with join-accept (carrying the key) or doc-deny. */
  | { readonly type: 'join-request'; readonly docId: string; readonly name: string }
  | {
      readonly type: 'join-accept'
      readonly docId: string
      readonly role: Role
      readonly epoch: number
      readonly key: Uint8Array
    }
  /** Redeems a single-use invite: an HMAC of the invite secret bound to this connection. */
  | {
      readonly type: 'invite-redeem'
      readonly docId: string
      readonly inviteId: Uint8Array
      readonly proof: Uint8Array
    }
  /** The documents the sender shares on the LAN. */
  | { readonly type: 'shared-docs'; readonly docs: readonly SharedDocInfo[] }
  /**
   * "Here is what I hold of these files of the project `docId`": one digest per file, for many files
   * at once (added in version 9). A receiver whose digest of a file differs sends that file's
   * `sync-request`, so a peer learns which files to fetch in one exchange, not one request per file.
   */
  | { readonly type: 'file-versions'; readonly docId: string; readonly files: readonly FileVersion[] }

export type MessageType = Message['type']
const TYPES: readonly MessageType[] = [
  'hello',
  'doc-auth',
  'doc-deny',
  'sync-request',
  'sync-reply',
  'update',
  'awareness',
  'key-share',
  'join-request',
  'join-accept',
  'invite-redeem',
  'shared-docs',
  'seal-request',
  'awareness-gone',
  'file-versions',
]

export class ProtocolError extends Error {
  readonly code = 'PROTOCOL'
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

const HEX = /^[0-9a-f]+$/

export function isDocId(id: unknown): id is string {
  return typeof id === 'string' && id.length === DOC_ID_BYTES * 2 && HEX.test(id)
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new ByteWriter(64)
  w.byte(TYPES.indexOf(m.type))
  switch (m.type) {
    case 'hello':
      w.uint(m.protocol)
      w.string(m.app)
      w.string(m.name)
      w.byte(m.gotYours ? 1 : 0)
      break
    case 'doc-auth':
      docId(w, m.docId)
      w.uint(m.epoch)
      fixed(w, m.proof, PROOF_BYTES)
      w.byte(m.verified ? 1 : 0)
      break
    case 'doc-deny':
      docId(w, m.docId)
      w.byte(DENY_CODES.indexOf(m.code))
      w.string(truncateString(m.reason, MAX_TEXT))
      break
    case 'sync-request':
      docId(w, m.docId)
      for (const v of m.versions) vector(w, v)
      blob(w, m.order ?? EMPTY_ORDER)
      break
    case 'sync-reply':
      docId(w, m.docId)
      for (const b of m.batches) blob(w, b)
      break
    case 'update':
      docId(w, m.docId)
      w.byte(m.channel)
      blob(w, m.batch)
      tags(w, m.sentTo)
      break
    case 'seal-request':
      docId(w, m.docId)
      w.string(truncateString(m.replica, MAX_REPLICA_LENGTH))
      w.uint(m.counter)
      break
    case 'awareness':
      docId(w, m.docId)
      hexBytes(w, m.origin, KEY_BYTES, 'device key')
      w.uint(m.seq)
      w.uint(m.hops)
      w.string(m.state)
      fixed(w, m.signature, SIGNATURE_BYTES)
      tags(w, m.sentTo)
      break
    case 'awareness-gone':
      docId(w, m.docId)
      hexBytes(w, m.origin, KEY_BYTES, 'device key')
      w.uint(m.seq)
      break
    case 'key-share':
      docId(w, m.docId)
      w.uint(m.epoch)
      fixed(w, m.key, KEY_BYTES)
      break
    case 'join-request':
      docId(w, m.docId)
      w.string(truncateString(m.name, MAX_NAME))
      break
    case 'join-accept':
      docId(w, m.docId)
      w.byte(ROLES.indexOf(m.role))
      w.uint(m.epoch)
      fixed(w, m.key, KEY_BYTES)
      break
    case 'invite-redeem':
      docId(w, m.docId)
      fixed(w, m.inviteId, DOC_ID_BYTES)
      fixed(w, m.proof, PROOF_BYTES)
      break
    case 'shared-docs':
      w.uint(m.docs.length)
      for (const d of m.docs) {
        docId(w, d.docId)
        w.string(truncateString(d.title, MAX_TEXT))
        w.string(truncateString(d.ownerName, MAX_NAME))
        w.uint(d.memberCount)
      }
      break
    case 'file-versions':
      if (m.files.length > MAX_FILE_VERSIONS)
        throw new TypeError(`file-versions: more than ${MAX_FILE_VERSIONS} files in one message`)
      docId(w, m.docId)
      w.uint(m.files.length)
      for (const f of m.files) {
        docId(w, f.file)
        fixed(w, f.digest, FILE_DIGEST_BYTES)
      }
      break
  }
  return w.finish()
}

export function decodeMessage(bytes: Uint8Array): Message {
  try {
    const r = new ByteReader(bytes)
    const m = decodeFields(r)
    if (!r.done()) throw new ProtocolError(`${m.type}: trailing bytes`)
    return m
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    if (err instanceof CrdtDecodeError) throw new ProtocolError(`malformed message: ${err.message}`)
    throw err
  }
}

function decodeFields(r: ByteReader): Message {
  const type = TYPES[r.byte()]
  if (type === undefined) throw new ProtocolError('unknown message type')
  switch (type) {
    case 'hello': {
      const protocol = r.uint()
      const app = text(r, MAX_TEXT)
      const name = text(r, MAX_NAME)
      const flag = r.byte()
      if (flag > 1) throw new ProtocolError('hello: bad flag')
      return { type, protocol, app, name, gotYours: flag === 1 }
    }
    case 'doc-auth': {
      const id = readDocId(r)
      const epoch = r.uint()
      const proof = readFixed(r, PROOF_BYTES)
      const flag = r.byte()
      if (flag > 1) throw new ProtocolError('doc-auth: bad flag')
      return { type, docId: id, epoch, proof, verified: flag === 1 }
    }
    case 'doc-deny': {
      const id = readDocId(r)
      const code = DENY_CODES[r.byte()]
      if (code === undefined) throw new ProtocolError('doc-deny: unknown code')
      return { type, docId: id, code, reason: text(r, MAX_TEXT) }
    }
    case 'sync-request': {
      const id = readDocId(r)
      const versions: DocVersions = [readVector(r), readVector(r), readVector(r), readVector(r)]
      const order = readBlob(r)
      if (order.length !== 0 && order.length !== TEXT_ORDER_BYTES)
        throw new ProtocolError('sync-request: bad text order digest')
      return { type, docId: id, versions, ...(order.length > 0 ? { order } : {}) }
    }
    case 'sync-reply':
      return { type, docId: readDocId(r), batches: [readBlob(r), readBlob(r), readBlob(r), readBlob(r)] }
    case 'update': {
      const id = readDocId(r)
      const channel = r.byte()
      if (channel > Channel.Versions) throw new ProtocolError('update: unknown channel')
      const batch = readBlob(r)
      return { type, docId: id, channel: channel as Channel, batch, sentTo: readTags(r, type) }
    }
    case 'seal-request': {
      const id = readDocId(r)
      const replica = text(r, MAX_REPLICA_LENGTH)
      const counter = r.uint()
      if (replica.length === 0 || !Number.isSafeInteger(counter))
        throw new ProtocolError('seal-request: bad replica or counter')
      return { type, docId: id, replica, counter }
    }
    case 'awareness': {
      const id = readDocId(r)
      const origin = toHex(r.bytes(KEY_BYTES))
      const seq = r.uint()
      const hops = r.uint()
      const state = text(r, MAX_AWARENESS_JSON)
      const signature = readFixed(r, SIGNATURE_BYTES)
      return { type, docId: id, origin, seq, hops, state, signature, sentTo: readTags(r, type) }
    }
    case 'awareness-gone':
      return { type, docId: readDocId(r), origin: toHex(r.bytes(KEY_BYTES)), seq: r.uint() }
    case 'key-share':
      return { type, docId: readDocId(r), epoch: r.uint(), key: readFixed(r, KEY_BYTES) }
    case 'join-request':
      return { type, docId: readDocId(r), name: text(r, MAX_NAME) }
    case 'join-accept': {
      const id = readDocId(r)
      const role = ROLES[r.byte()]
      if (role === undefined) throw new ProtocolError('join-accept: unknown role')
      return { type, docId: id, role, epoch: r.uint(), key: readFixed(r, KEY_BYTES) }
    }
    case 'invite-redeem':
      return {
        type,
        docId: readDocId(r),
        inviteId: readFixed(r, DOC_ID_BYTES),
        proof: readFixed(r, PROOF_BYTES),
      }
    case 'shared-docs': {
      const n = r.count(DOC_ID_BYTES + 3)
      if (n > MAX_SHARED_DOCS) throw new ProtocolError(`shared-docs: more than ${MAX_SHARED_DOCS} documents`)
      const docs: SharedDocInfo[] = []
      for (let i = 0; i < n; i++) {
        docs.push({
          docId: readDocId(r),
          title: text(r, MAX_TEXT),
          ownerName: text(r, MAX_NAME),
          memberCount: r.uint(),
        })
      }
      return { type, docs }
    }
    case 'file-versions': {
      const id = readDocId(r)
      const n = r.count(DOC_ID_BYTES + FILE_DIGEST_BYTES)
      if (n > MAX_FILE_VERSIONS)
        throw new ProtocolError(`file-versions: ${n} files in one message, more than ${MAX_FILE_VERSIONS}`)
      const files: FileVersion[] = []
      for (let i = 0; i < n; i++) files.push({ file: readDocId(r), digest: readFixed(r, FILE_DIGEST_BYTES) })
      return { type, docId: id, files }
    }
  }
}

function docId(w: ByteWriter, id: string): void {
  hexBytes(w, id, DOC_ID_BYTES, 'document ID')
}

function readDocId(r: ByteReader): string {
  return toHex(r.bytes(DOC_ID_BYTES))
}

/** A list of peer tags (devices a message was already sent to), at most MAX_SENT_TO of them. */
function tags(w: ByteWriter, list: readonly string[]): void {
  w.uint(Math.min(list.length, MAX_SENT_TO))
  for (const tag of list.slice(0, MAX_SENT_TO)) hexBytes(w, tag, PEER_TAG_BYTES, 'peer tag')
}

function readTags(r: ByteReader, type: MessageType): string[] {
  const n = r.count(PEER_TAG_BYTES)
  if (n > MAX_SENT_TO) throw new ProtocolError(`${type}: too many recipients listed`)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(toHex(r.bytes(PEER_TAG_BYTES)))
  return out
}

/** Writes lower-case hex as exactly `bytes` bytes (a device key, a peer tag), or throws naming `what`. */
function hexBytes(w: ByteWriter, hex: string, bytes: number, what: string): void {
  if (hex.length !== bytes * 2) throw new TypeError(`not a ${what}: ${hex}`)
  // By character codes: a keystroke's update lists every device it went to (16 tags and the document
  // ID in a mesh of 16), and a regex test and a parseInt per byte took ~23 µs of its encoding.
  for (let i = 0; i < hex.length; i += 2) {
    const hi = hexDigit(hex.charCodeAt(i))
    const lo = hexDigit(hex.charCodeAt(i + 1))
    if (hi < 0 || lo < 0) throw new TypeError(`not a ${what}: ${hex}`)
    w.byte((hi << 4) | lo)
  }
}

/** The value of a lowercase hex digit's character code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48 // 0-9
  if (c >= 97 && c <= 102) return c - 87 // a-f
  return -1
}

function fixed(w: ByteWriter, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new TypeError(`expected ${n} bytes, got ${b.length}`)
  w.bytes(b)
}

function readFixed(r: ByteReader, n: number): Uint8Array {
  return r.bytes(n).slice()
}

function blob(w: ByteWriter, b: Uint8Array): void {
  w.uint(b.length)
  w.bytes(b)
}

function readBlob(r: ByteReader): Uint8Array {
  return r.bytes(r.uint()).slice()
}

function text(r: ByteReader, max: number): string {
  const s = r.string()
  if (s.length > max) throw new ProtocolError(`string longer than ${max}`)
  return s
}

function vector(w: ByteWriter, v: VersionVector): void {
  const entries = Object.entries(v)
  w.uint(entries.length)
  for (const [replica, counter] of entries) {
    w.string(replica)
    w.uint(counter)
  }
}

function readVector(r: ByteReader): VersionVector {
  const n = r.count(3)
  if (n > MAX_VECTOR_ENTRIES) throw new ProtocolError('version vector too large')
  const v: VersionVector = Object.create(null) as VersionVector
  for (let i = 0; i < n; i++) {
    const replica = text(r, 64)
    if (replica.length === 0) throw new ProtocolError('empty replica ID')
    v[replica] = r.uint()
  }
  return v
}
