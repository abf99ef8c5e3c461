/**
 * What a node keeps on disk of an attested version it took or made (forks.ts): the counters of a
 * replica that stand on another member's word, that member, and the version itself to pass on (when
 * it was kept: MAX_ATTESTED_BYTES). Without it a restart forgot them, and history showed those
 * counters as the device's own until someone offered the version again.
 *
 * Form: `u8 version | string replica | uint from | uint to | attester key 32 | versions batch of one
 * (versions.ts) or nothing`. Written by this node only, so a record that does not decode is skipped
 * (the version comes again from a peer), never trusted in part.
 */
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { fromHex, toHex } from '../../shared/sync/hex'
import type { Attested } from './forks'
import { decodeVersions, encodeVersions, type Version } from './versions'

const RECORD_VERSION = 1
const KEY_BYTES = 32

export interface AttestedRecord {
  readonly replica: string
  readonly range: Attested
  /** The attested version with its ops, or null where it was too large to keep. */
  readonly version: Version | null
}

export function encodeAttestedRecord(record: AttestedRecord): Uint8Array {
  const { replica, range, version } = record
  const w = new ByteWriter(64 + (version?.ops?.length ?? 0))
  w.byte(RECORD_VERSION)
  w.string(replica)
  w.uint(range.from)
  w.uint(range.to)
  w.bytes(fromHex(range.by))
  if (version) w.bytes(encodeVersions([version]))
  return w.finish()
}

/** The record, or null if it does not decode (or names another replica than its version). */
export function decodeAttestedRecord(bytes: Uint8Array): AttestedRecord | null {
  try {
    const r = new ByteReader(bytes)
    if (r.byte() !== RECORD_VERSION) return null
    const replica = r.string()
    const from = r.uint()
    const to = r.uint()
    const by = toHex(r.bytes(KEY_BYTES))
    if (from < 1 || to < from) return null
    let version: Version | null = null
    if (!r.done()) {
      const versions = decodeVersions(r.bytes(r.remaining))
      version = versions.length === 1 && versions[0]!.attester ? versions[0]! : null
      if (!version || version.seal.replica !== replica) return null
    }
    return { replica, range: { from, to, by }, version }
  } catch (err) {
    if (err instanceof CrdtDecodeError) return null
    throw err
  }
}
