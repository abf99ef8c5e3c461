/**
 * What a node keeps on disk of an attested version it took or made (forks.ts): the counters of a
 * replica that stand on another member's word, that member, and the version's signed seal. Without it
 * a restart forgot them, and history showed those counters as the device's own until someone offered
 * the version again. The version's ops are not kept: the text holds them (forks.ts rebuilds the
 * version from it at open, and keeps it only if it gives the signed digest), so a record stays a few
 * hundred bytes however long the stream, and one written per anti-entropy round costs little.
 *
 * Form: `u8 version | string replica | uint from | uint to | attester key 32 | uint seal length |
 * seal batch of one (replica-seal.ts), or nothing`. Written by this node only, so a record that does
 * not decode is skipped (the version comes again from a peer), never trusted in part.
 */
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { fromHex, toHex } from '../../shared/sync/hex'
import type { Attested } from './forks'
import { decodeSeals, encodeSeals, type Seal } from './replica-seal'

const RECORD_VERSION = 1
const KEY_BYTES = 32

export interface AttestedRecord {
  readonly replica: string
  /** The counters that stand on `range.by`'s word. */
  readonly range: Attested
  /** The attested version's seal, signed by `range.by`; null where no version was kept. */
  readonly seal: Seal | null
}

export function encodeAttestedRecord(record: AttestedRecord): Uint8Array {
  const { replica, range, seal } = record
  const w = new ByteWriter(256)
  w.byte(RECORD_VERSION)
  w.string(replica)
  w.uint(range.from)
  w.uint(range.to)
  w.bytes(fromHex(range.by))
  if (seal) {
    const bytes = encodeSeals([seal])
    w.uint(bytes.length)
    w.bytes(bytes)
  }
  return w.finish()
}

/** The record, or null if it does not decode (or its seal names another replica). */
export function decodeAttestedRecord(bytes: Uint8Array): AttestedRecord | null {
  try {
    const r = new ByteReader(bytes)
    if (r.byte() !== RECORD_VERSION) return null
    const replica = r.string()
    const from = r.uint()
    const to = r.uint()
    const by = toHex(r.bytes(KEY_BYTES))
    if (from < 1 || to < from) return null
    let seal: Seal | null = null
    if (!r.done()) {
      const seals = decodeSeals(r.bytes(r.uint()))
      if (seals.length !== 1 || seals[0]!.replica !== replica || !r.done()) return null
      seal = seals[0]!
    }
    return { replica, range: { from, to, by }, seal }
  } catch (err) {
    if (err instanceof CrdtDecodeError) return null
    throw err
  }
}
