/** Replica ID → highest counter seen from it. Counters start at 1; a missing replica means 0. */
export type VersionVector = Record<string, number>

/** Whether two version vectors name the same counters (a replica missing from one counts 0 there). */
export function sameVersion(a: VersionVector, b: VersionVector): boolean {
  const at = (v: VersionVector, k: string): number => (Object.hasOwn(v, k) ? v[k]! : 0)
  for (const k of Object.keys(a)) if (at(a, k) !== at(b, k)) return false
  for (const k of Object.keys(b)) if (at(a, k) !== at(b, k)) return false
  return true
}

/** One visible change, in UTF-16 code units, relative to the text as left by the changes before it. */
export interface TextChange {
  readonly index: number
  readonly deleted: number
  readonly inserted: string
}

/** A character's identity: the replica that inserted it and that replica's counter for it. */
export interface CharId {
  readonly replica: string
  readonly counter: number
}

/** A decoder met bytes it cannot accept: truncated, corrupt or hostile. Nothing was applied. */
export class CrdtDecodeError extends Error {
  readonly code = 'CRDT_DECODE'
  constructor(message: string) {
    super(message)
    this.name = 'CrdtDecodeError'
  }
}

/**
 * This replica's own saved state failed its checks when first used (a loaded state's spans are checked
 * then, not at load: text-doc.ts): the fault is in this device's copy, never in the batch of the peer
 * that happened to need them.
 */
export class DamagedStateError extends CrdtDecodeError {
  constructor(message: string) {
    super(`this document's saved state on this device is damaged: ${message}`)
    this.name = 'DamagedStateError'
  }
}
