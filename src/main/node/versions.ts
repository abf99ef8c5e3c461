/**
 * Versions of an equivocating device's replicas (docs/PROTOCOL.md, "Equivocation"). A device that
 * signed two different streams of one replica is flagged, and every peer then holds, of each of its
 * replicas, the one version all of them pick: the best sealed version that any peer can show with its
 * ops (the most counters, then the smaller digest). Peers offer theirs on the Versions channel; a
 * version is a seal plus the replica's ops it covers, so anyone can check it, and two versions (or
 * two seals of one counter) that disagree are a proof that anyone can check too.
 *
 * Wire form of a batch: `u8 version | count | (u8 held | uint seal length | seal batch of one | uint
 * ops length | ops batch or nothing)*`.
 */
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import { decodeTextOps } from '../../shared/crdt/text-codec'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { streamDigest } from './provenance'
import { decodeSeals, encodeSeals, type Seal } from './replica-seal'

/**
 * A seal, with the ops of its replica from 1 to its counter when the sender has them. `held`: the
 * version the sender holds (else a seal it passes on as evidence).
 */
export interface Version {
  readonly seal: Seal
  readonly ops: Uint8Array | null
  readonly held: boolean
}

const VERSION = 1
/** Versions in one batch: a peer's, and the proof against it, per replica. */
export const MAX_VERSIONS_PER_BATCH = 64
/** The ops of one version: a flagged replica larger than this is offered by its seal alone. */
export const MAX_VERSION_OPS_BYTES = 4 << 20

export function encodeVersions(versions: readonly Version[]): Uint8Array {
  const w = new ByteWriter(256)
  w.byte(VERSION)
  w.uint(versions.length)
  for (const v of versions) {
    w.byte(v.held ? 1 : 0)
    const seal = encodeSeals([v.seal])
    w.uint(seal.length)
    w.bytes(seal)
    w.uint(v.ops?.length ?? 0)
    if (v.ops) w.bytes(v.ops)
  }
  return w.finish()
}

/** The versions of a batch; nothing is checked but their form (see `checkVersion`). */
export function decodeVersions(bytes: Uint8Array): Version[] {
  try {
    const r = new ByteReader(bytes)
    if (r.byte() !== VERSION) throw new CrdtDecodeError('unknown versions batch version')
    const n = r.count(3)
    if (n > MAX_VERSIONS_PER_BATCH) throw new CrdtDecodeError('too many versions in one batch')
    const out: Version[] = []
    for (let i = 0; i < n; i++) {
      const held = r.byte()
      if (held > 1) throw new CrdtDecodeError('a version is held or not')
      const seals = decodeSeals(r.bytes(r.uint()))
      if (seals.length !== 1) throw new CrdtDecodeError('a version has one seal')
      const length = r.uint()
      if (length > MAX_VERSION_OPS_BYTES) throw new CrdtDecodeError('a version’s ops are too large')
      out.push({ seal: seals[0]!, ops: length > 0 ? r.bytes(length) : null, held: held === 1 })
    }
    if (!r.done()) throw new CrdtDecodeError('trailing bytes after the versions')
    return out
  } catch (err) {
    if (err instanceof CrdtDecodeError) throw err
    throw new CrdtDecodeError(`malformed versions batch: ${String(err)}`)
  }
}

/**
 * The digest of the replica's stream in `ops` up to `counter` (ops of other replicas in the batch are
 * not part of it); null if they do not reach it. Throws CrdtDecodeError if the batch is malformed.
 */
export function versionDigest(ops: Uint8Array, replica: string, counter: number): Uint8Array | null {
  const { replicas, ops: decoded } = decodeTextOps(ops)
  const agent = replicas.indexOf(replica)
  const mine = decoded.filter((op) => op.agent === agent)
  return streamDigest(
    {
      seenOf: () => counter,
      opsOf: () => ({ ids: replicas, agent, ops: mine }),
    },
    replica,
    counter,
  )
}

/** Whether `a` is a better version than `b`: every peer picks the same one of any set. */
export function better(a: Seal, b: Seal): boolean {
  if (a.counter !== b.counter) return a.counter > b.counter
  for (let i = 0; i < a.digest.length; i++) {
    if (a.digest[i] !== b.digest[i]) return a.digest[i]! < b.digest[i]!
  }
  return false
}

export const sameSeal = (a: Seal, b: Seal): boolean =>
  a.replica === b.replica && a.counter === b.counter && a.digest.every((x, i) => x === b.digest[i])
