/**
 * Property writes bound to their author (docs/PROTOCOL.md, "Edits bound to their author"): the
 * counterpart, for a document's properties (title, language, authors' names), of the seals that bind
 * text ops (provenance.ts).
 *
 * A property map keeps only the winning write per key, so its writes are not sealed as a stream: each
 * write carries its device's Ed25519 signature instead (writes are rare: a title, a language, a name).
 * A peer takes a write only if the replica that made it is bound to a device and that device signed
 * it, however the write arrived (live, relayed, or in a sync reply). So no member can set a property in
 * another device's name, nor take another replica's counters and silence its later writes.
 *
 * `author:<replica>` (the name shown for a replica in history) is one device's word about its own
 * replica: taken only from a write of a replica bound to the same device.
 */
import { ByteWriter } from '../../shared/crdt/bytes'
import type { PropSigner, PropWrite } from '../../shared/crdt/lww-map'
import type { Sign } from '../../shared/members/member-op'
import { fromHex } from '../../shared/sync/hex'
import { isDerivedForm } from './replica-seal'

const PROP_DOMAIN = Buffer.from('meshpad/prop/1\0')
/** Property keys that map a replica ID to its author (device and name); hidden from the Properties panel. */
export const AUTHOR_PREFIX = 'author:'

/** The bytes a write's signature covers: every field of the write, bound to one document. */
export function propPayload(docId: string, w: PropWrite): Uint8Array {
  const out = new ByteWriter(128 + w.key.length + (w.json?.length ?? 0))
  out.bytes(PROP_DOMAIN)
  out.string(docId)
  out.string(w.replica)
  out.uint(w.counter)
  out.uint(w.stamp.wall)
  out.uint(w.stamp.logical)
  out.string(w.key)
  out.byte(w.json === undefined ? 0 : 1)
  if (w.json !== undefined) out.string(w.json)
  return out.finish()
}

/** Signs this device's property writes to one document. */
export function propSigner(docId: string, sign: Sign): PropSigner {
  return (w) => sign(propPayload(docId, w))
}

export interface PropCheckDeps {
  readonly docId: string
  /** The device (hex) a replica is bound to, if known (provenance.ts). */
  deviceOf(replica: string): string | undefined
  /** Whether nothing more of a device is taken (it equivocated). */
  isFlagged(device: string): boolean
  /** A replica with no claim (IDs from before devices were bound): whether this sender's writes of it count. */
  takesUnclaimed(replica: string): boolean
  verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean
}

/**
 * A peer's writes sorted: `take` (checked), `wait` (their replica's binding is not known here yet, or
 * its device is flagged: anti-entropy brings them again) and `forged` (a signature that does not check,
 * or a name for another device's replica: whoever sent it is not honest).
 */
export function checkPropWrites(
  writes: readonly PropWrite[],
  deps: PropCheckDeps,
): { take: PropWrite[]; wait: PropWrite[]; forged: PropWrite[] } {
  const take: PropWrite[] = []
  const wait: PropWrite[] = []
  const forged: PropWrite[] = []
  for (const w of writes) {
    const device = deps.deviceOf(w.replica)
    if (device === undefined) {
      if (!isDerivedForm(w.replica) && deps.takesUnclaimed(w.replica)) take.push(w)
      else wait.push(w)
      continue
    }
    if (deps.isFlagged(device)) {
      wait.push(w)
      continue
    }
    if (!w.sig || !deps.verify(fromHex(device), propPayload(deps.docId, w), w.sig)) {
      forged.push(w)
      continue
    }
    const named = w.key.startsWith(AUTHOR_PREFIX) ? w.key.slice(AUTHOR_PREFIX.length) : undefined
    const namedDevice = named === undefined ? device : deps.deviceOf(named)
    if (namedDevice !== undefined && namedDevice !== device) forged.push(w)
    else if (namedDevice === undefined) wait.push(w)
    else take.push(w)
  }
  return { take, wait, forged }
}
