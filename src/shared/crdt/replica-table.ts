/**
 * The replica table at the head of every encoded batch and snapshot, so that each op names its
 * replica by a small index. Replica IDs made of base64url characters (what Meshpad generates) are
 * packed six bits a character: an 8-character ID takes 7 bytes instead of 9, which matters in a
 * single-keystroke batch.
 */
import { ByteWriter, hasLoneSurrogate, type ByteReader } from './bytes'
import { CrdtDecodeError } from './types'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const CODE = new Map([...ALPHABET].map((c, i) => [c, i]))
const PACKABLE = /^[A-Za-z0-9_-]+$/
export const MAX_REPLICA_LENGTH = 64

export function checkReplicaId(replica: string): void {
  if (typeof replica !== 'string' || replica.length === 0 || replica.length > MAX_REPLICA_LENGTH) {
    throw new RangeError(`A replica ID must be a string of 1 to ${MAX_REPLICA_LENGTH} characters.`)
  }
  if (hasLoneSurrogate(replica)) throw new RangeError('A replica ID must not hold an unpaired surrogate.')
}

/** Writes the kind/count byte and the table. Kinds are 4-bit format codes. */
export function writeHeader(
  w: ByteWriter,
  kind: number,
  replicas: readonly string[],
  n = replicas.length,
): void {
  w.byte((kind << 4) | Math.min(n, 15))
  if (n >= 15) w.uint(n - 15)
  for (let i = 0; i < n; i++) writeReplica(w, replicas[i]!)
}

/** Reads the format byte (one of `kinds`) and the table. */
export function readHeader(
  r: ByteReader,
  kinds: readonly number[],
  what: string,
): { readonly kind: number; readonly replicas: string[] } {
  const first = r.byte()
  const kind = first >> 4
  if (!kinds.includes(kind)) throw new CrdtDecodeError(`not a ${what} (format byte 0x${first.toString(16)})`)
  let n = first & 15
  if (n === 15) n += r.uint()
  if (n > r.remaining) throw new CrdtDecodeError(`replica count ${n} exceeds the data that follows`)
  const replicas: string[] = []
  for (let i = 0; i < n; i++) replicas.push(readReplica(r))
  if (new Set(replicas).size !== replicas.length) throw new CrdtDecodeError('duplicate replica in table')
  return { kind, replicas }
}

/** Encoded replica IDs: a document encodes the same few on every keystroke. */
const encodedCache = new Map<string, Uint8Array>()

function writeReplica(w: ByteWriter, replica: string): void {
  let encoded = encodedCache.get(replica)
  if (!encoded) {
    const one = new ByteWriter(16)
    encodeReplica(one, replica)
    encoded = one.finish()
    if (encodedCache.size >= 4096) encodedCache.clear() // bound it: peers can name any number of replicas
    encodedCache.set(replica, encoded)
  }
  w.bytes(encoded)
}

function encodeReplica(w: ByteWriter, replica: string): void {
  if (!PACKABLE.test(replica)) {
    w.uint(0) // marker: UTF-8 form follows
    w.string(replica)
    return
  }
  w.uint(replica.length)
  let acc = 0
  let bits = 0
  for (const c of replica) {
    acc = (acc << 6) | CODE.get(c)!
    bits += 6
    if (bits >= 8) {
      bits -= 8
      w.byte((acc >> bits) & 0xff)
    }
  }
  if (bits > 0) w.byte((acc << (8 - bits)) & 0xff)
}

function readReplica(r: ByteReader): string {
  const n = r.uint()
  let replica: string
  if (n === 0) {
    replica = r.string()
  } else {
    if (n > MAX_REPLICA_LENGTH) throw new CrdtDecodeError(`replica ID of ${n} characters`)
    const bytes = r.bytes(Math.ceil((n * 6) / 8))
    let acc = 0
    let bits = 0
    let out = ''
    for (const b of bytes) {
      acc = ((acc << 8) | b) & 0xffff
      bits += 8
      while (bits >= 6 && out.length < n) {
        bits -= 6
        out += ALPHABET[(acc >> bits) & 63]
      }
    }
    replica = out
  }
  if (replica.length === 0 || replica.length > MAX_REPLICA_LENGTH) {
    throw new CrdtDecodeError(`replica ID of ${replica.length} characters`)
  }
  return replica
}
