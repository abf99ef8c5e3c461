/**
 * Replica IDs bound to their device, and seals: what lets any peer check who wrote a text op, however
 * many relays it passed (docs/PROTOCOL.md, "Edits bound to their author").
 *
 * A replica ID is the first 9 bytes (72 bits) of SHA-256(device key, nonce), so the pair (device,
 * nonce) proves whose replica it is, and no other device can find a pair that gives the same ID. A
 * seal is the device's Ed25519 signature over the SHA-256 digest of its replica's op stream up to a
 * counter (src/shared/crdt/op-stream.ts), in one of two forms (stream-digest.ts: this node signs the
 * block form, 2; seals of form 1 made before it are still checked); counter 0 is a bare claim. Seals
 * are sent in batches: `u8 version (2) | count | (device 32 | nonce 8 | u8 form | counter | digest 32 |
 * signature 64)*`; a batch of version 1 (stored before the block form) has no form byte: form 1.
 */
import { createHash } from 'node:crypto'
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import { CrdtDecodeError } from '../../shared/crdt/types'
import type { Sign } from '../../shared/members/member-op'
import { CURRENT_FORM, type SealForm } from './stream-digest'

export const NONCE_BYTES = 8
const DEVICE_BYTES = 32
const DIGEST_BYTES = 32
const SIGNATURE_BYTES = 64
const REPLICA_BYTES = 9
const VERSION = 2
/** Seals in one batch: a sync reply sends them in chunks of this many (~1.1 MiB). */
export const MAX_SEALS_PER_BATCH = 8192
/** The largest counter a seal may name (a replica's counters are safe integers). */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER

export interface Seal {
  readonly replica: string
  readonly device: Uint8Array
  readonly nonce: Uint8Array
  /** The last counter of the replica's stream it covers (0: a claim, covering nothing). */
  readonly counter: number
  /** Which digest it signs (stream-digest.ts). */
  readonly form: SealForm
  readonly digest: Uint8Array
  readonly signature: Uint8Array
}

const REPLICA_DOMAIN = Buffer.from('meshpad/replica/1\0')
const SEAL_DOMAINS = { 1: Buffer.from('meshpad/seal/1\0'), 2: Buffer.from('meshpad/seal/2\0') }

/** The replica ID of (device, nonce). */
export function deriveReplica(device: Uint8Array, nonce: Uint8Array): string {
  const h = createHash('sha256').update(REPLICA_DOMAIN).update(device).update(nonce).digest()
  return h.subarray(0, REPLICA_BYTES).toString('base64url')
}

/** Whether `replica` has the form of a derived ID (12 base64url characters). Older ones are 8. */
export const isDerivedForm = (replica: string): boolean => replica.length === 12

/** The digest of the empty stream: what a claim (counter 0) signs. */
export const EMPTY_DIGEST = new Uint8Array(createHash('sha256').digest())

/** The bytes a seal's signature covers: it is bound to one document, and to its form. */
export function sealPayload(
  docId: string,
  replica: string,
  counter: number,
  digest: Uint8Array,
  form: SealForm = CURRENT_FORM,
): Uint8Array {
  const w = new ByteWriter(128)
  w.bytes(SEAL_DOMAINS[form])
  w.string(docId)
  w.string(replica)
  w.uint(counter)
  w.bytes(digest)
  return w.finish()
}

export function makeSeal(
  docId: string,
  device: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  digest: Uint8Array,
  sign: Sign,
): Seal {
  const replica = deriveReplica(device, nonce)
  const signature = sign(sealPayload(docId, replica, counter, digest))
  return { replica, device, nonce, counter, form: CURRENT_FORM, digest, signature }
}

/**
 * A replica's claim (a seal at counter 0), signed when its signature is first read: most replicas a
 * node opens a document with never edit it (a shared folder's 2,000 files, each opened to sync), and
 * their claims are then never stored or sent.
 */
export function makeClaim(docId: string, device: Uint8Array, nonce: Uint8Array, sign: Sign): Seal {
  const replica = deriveReplica(device, nonce)
  let signature: Uint8Array | undefined
  return {
    replica,
    device,
    nonce,
    counter: 0,
    form: CURRENT_FORM,
    digest: EMPTY_DIGEST,
    get signature() {
      return (signature ??= sign(sealPayload(docId, replica, 0, EMPTY_DIGEST)))
    },
  }
}

export function encodeSeals(seals: readonly Seal[]): Uint8Array {
  const w = new ByteWriter(16 + seals.length * 141)
  w.byte(VERSION)
  w.uint(seals.length)
  for (const s of seals) {
    w.bytes(s.device)
    w.bytes(s.nonce)
    w.byte(s.form)
    w.uint(s.counter)
    w.bytes(s.digest)
    w.bytes(s.signature)
  }
  return w.finish()
}

/**
 * The seals of a batch, their replica IDs derived; signatures are not checked here. Throws
 * CrdtDecodeError on anything malformed.
 */
export function decodeSeals(bytes: Uint8Array): Seal[] {
  try {
    const r = new ByteReader(bytes)
    const version = r.byte()
    if (version !== 1 && version !== VERSION) throw new CrdtDecodeError('unknown seal batch version')
    const n = r.count(DEVICE_BYTES + NONCE_BYTES + version + DIGEST_BYTES + SIGNATURE_BYTES)
    if (n > MAX_SEALS_PER_BATCH) throw new CrdtDecodeError('too many seals in one batch')
    const out: Seal[] = []
    for (let i = 0; i < n; i++) {
      const device = r.bytes(DEVICE_BYTES)
      const nonce = r.bytes(NONCE_BYTES)
      const form = version === 1 ? 1 : r.byte()
      if (form !== 1 && form !== 2) throw new CrdtDecodeError('unknown seal form')
      const counter = r.uint()
      if (counter > MAX_COUNTER) throw new CrdtDecodeError('seal counter out of range')
      const digest = r.bytes(DIGEST_BYTES)
      const signature = r.bytes(SIGNATURE_BYTES)
      out.push({ replica: deriveReplica(device, nonce), device, nonce, counter, form, digest, signature })
    }
    if (!r.done()) throw new CrdtDecodeError('trailing bytes after the seals')
    return out
  } catch (err) {
    if (err instanceof CrdtDecodeError) throw err
    throw new CrdtDecodeError(`malformed seal batch: ${String(err)}`)
  }
}
