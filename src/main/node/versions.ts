/**
 * Versions of an equivocating device's replicas (docs/PROTOCOL.md, "Equivocation"). A device that
 * signed two different streams of one replica is flagged, and every peer then holds, of each of its
 * replicas, the one version all of them pick: the best sealed version that any peer can show with its
 * ops (the most counters, then the smaller digest). Peers offer theirs on the Versions channel; a
 * version is a seal plus the replica's ops it covers, so anyone can check it, and two versions (or
 * two seals of one counter) that disagree are a proof that anyone can check too.
 *
 * A device that never seals (withholding) leaves its edits, and all typed beside them, on the peers it
 * sent them to. A member that took such ops straight from it and flagged it (doc-provenance.ts) signs
 * what it holds instead: an attested version, ranked below any seal of the device (forks.ts).
 *
 * Wire form of a batch: `u8 version | count | (u8 flags (1 held, 2 attested) | attester key 32 if
 * attested | uint seal length | seal batch of one | uint ops length | ops batch or nothing)*`.
 */
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import type { TextOp } from '../../shared/crdt/ops'
import { hasOrigin } from '../../shared/crdt/ops'
import { decodeTextOps, droppedFor, encodeTextOps } from '../../shared/crdt/text-codec'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { streamDigest } from './provenance'
import { decodeSeals, encodeSeals, type Seal } from './replica-seal'
import { CURRENT_FORM, type SealForm } from './stream-digest'

/**
 * A seal, with the ops of its replica from 1 to its counter when the sender has them. `held`: the
 * version the sender holds (else a seal it passes on as evidence).
 */
export interface Version {
  readonly seal: Seal
  readonly ops: Uint8Array | null
  readonly held: boolean
  /**
   * Set for an attested version: the key of the member that signs that it took these ops straight
   * from the replica's device, which did not seal them. `seal.signature` is then that member's, over
   * `attestPayload`; an attested version always carries its ops.
   */
  readonly attester?: Uint8Array
}

const VERSION = 2
const HELD = 1
const ATTESTED = 2
const KEY_BYTES = 32
const ATTEST_DOMAIN = Buffer.from('meshpad/attest/1\0')

/** The bytes an attester signs: the replica's stream up to `counter` is `digest`, as it took it. */
export function attestPayload(
  docId: string,
  replica: string,
  counter: number,
  digest: Uint8Array,
  attester: Uint8Array,
): Uint8Array {
  const w = new ByteWriter(160)
  w.bytes(ATTEST_DOMAIN)
  w.string(docId)
  w.string(replica)
  w.uint(counter)
  w.bytes(digest)
  w.bytes(attester)
  return w.finish()
}
/** Versions in one batch: a peer's, and the proof against it, per replica. */
export const MAX_VERSIONS_PER_BATCH = 64
/** The ops of one version: a flagged replica larger than this is offered by its seal alone. */
export const MAX_VERSION_OPS_BYTES = 4 << 20

export function encodeVersions(versions: readonly Version[]): Uint8Array {
  const w = new ByteWriter(256)
  w.byte(VERSION)
  w.uint(versions.length)
  for (const v of versions) {
    w.byte((v.held ? HELD : 0) | (v.attester ? ATTESTED : 0))
    if (v.attester) w.bytes(v.attester)
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
      const flags = r.byte()
      if (flags > (HELD | ATTESTED)) throw new CrdtDecodeError('unknown version flags')
      const attester = flags & ATTESTED ? r.bytes(KEY_BYTES) : undefined
      const seals = decodeSeals(r.bytes(r.uint()))
      if (seals.length !== 1) throw new CrdtDecodeError('a version has one seal')
      const length = r.uint()
      if (length > MAX_VERSION_OPS_BYTES) throw new CrdtDecodeError('a version’s ops are too large')
      if (attester && length === 0) throw new CrdtDecodeError('an attested version carries its ops')
      const version = {
        seal: seals[0]!,
        ops: length > 0 ? r.bytes(length) : null,
        held: (flags & HELD) !== 0,
      }
      out.push(attester ? { ...version, attester } : version)
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
export function versionDigest(
  ops: Uint8Array,
  replica: string,
  counter: number,
  form: SealForm = CURRENT_FORM,
): Uint8Array | null {
  const { replicas, ops: decoded, dropped } = decodeTextOps(ops)
  const agent = replicas.indexOf(replica)
  const mine = decoded.filter((op) => op.agent === agent)
  return streamDigest(
    {
      seenOf: () => counter,
      opsOf: () => ({ ids: replicas, agent, ops: mine }),
      droppedOf: () => dropped?.get(replica),
    },
    replica,
    counter,
    form,
  )
}

/**
 * One stream of `replica` made of two: `head`'s ops of it up to `counter`, then `tail`'s past it. A
 * seal wins the counters it covers; past them, an attested stream stands in (forks.ts). Ops of other
 * replicas in either batch are left out. Throws CrdtDecodeError if either batch is malformed.
 */
export function spliceStream(
  head: Uint8Array,
  tail: Uint8Array,
  replica: string,
  counter: number,
): Uint8Array {
  const a = decodeTextOps(head)
  const b = decodeTextOps(tail)
  const ids = [...a.replicas]
  const index = new Map(ids.map((id, i) => [id, i]))
  const at = (id: string): number => {
    let i = index.get(id)
    if (i === undefined) index.set(id, (i = ids.push(id) - 1))
    return i
  }
  const out: TextOp[] = []
  const mine = a.replicas.indexOf(replica)
  for (const op of a.ops) {
    if (op.agent !== mine || op.counter > counter) continue
    out.push(op.counter + op.length - 1 > counter ? op.prefix(counter - op.counter + 1) : op)
  }
  const map = b.replicas.map(at)
  const theirs = b.replicas.indexOf(replica)
  for (const op of b.ops) {
    if (op.agent !== theirs || op.counter + op.length - 1 <= counter) continue
    const part = op.counter <= counter ? op.withoutPrefix(counter - op.counter + 1) : op
    // Agents index the tail's own table (freshly decoded, so changed in place): now the joint one.
    part.agent = map[part.agent]!
    if (part.kind === 0) {
      if (hasOrigin(part.originLeftAgent)) part.originLeftAgent = map[part.originLeftAgent]!
      if (hasOrigin(part.originRightAgent)) part.originRightAgent = map[part.originRightAgent]!
    } else part.targetAgent = map[part.targetAgent]!
    out.push(part)
  }
  // The blocks either names dropped (text-codec.ts, kind 10), as far as the joint ops reach them.
  const dropped = new Map([...(a.dropped?.get(replica) ?? []), ...(b.dropped?.get(replica) ?? [])])
  const named = dropped.size > 0 ? droppedFor(ids, out, new Map([[replica, dropped]])) : undefined
  return encodeTextOps(ids, out, undefined, true, undefined, named)
}

/** A stream's extent: how far it goes, and its digest. */
interface Extent {
  readonly counter: number
  readonly digest: Uint8Array
}

/** Whether `a` is a better version than `b`: every peer picks the same one of any set. */
export function better(a: Extent, b: Extent): boolean {
  if (a.counter !== b.counter) return a.counter > b.counter
  for (let i = 0; i < a.digest.length; i++) {
    if (a.digest[i] !== b.digest[i]) return a.digest[i]! < b.digest[i]!
  }
  return false
}

/**
 * Whether version `a` of a replica outranks `b`: the better stream (`better`); of one stream, a sealed
 * version over an attested one, and of two attested ones the smaller attester key. A strict order, the
 * same on every peer, so that peers also agree on who attested what.
 */
export function outranks(a: Ranked, b: Ranked): boolean {
  if (better(a.seal, b.seal)) return true
  if (better(b.seal, a.seal)) return false
  if (!a.attester || !b.attester) return !a.attester && b.attester !== undefined
  return Buffer.compare(a.attester, b.attester) < 0
}

/** What ranks a version: its seal (or attested extent) and its attester, if any. */
export type Ranked = Pick<Version, 'seal' | 'attester'>

export const sameSeal = (a: Seal, b: Seal): boolean =>
  a.replica === b.replica && a.counter === b.counter && a.digest.every((x, i) => x === b.digest[i])
