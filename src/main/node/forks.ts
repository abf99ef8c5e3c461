/**
 * Equivocation, settled (docs/PROTOCOL.md, "Equivocation"): once a device is caught signing two
 * different streams of its edits, every honest peer holds, of each of its replicas, the same version:
 * the best sealed one any peer can show with its ops (versions.ts, `better`). So text typed against
 * the equivocator's characters lands in the same place everywhere.
 *
 * Peers offer versions on the Versions channel: a version is a seal and the ops it covers, checked
 * on arrival against the seal, so no relay can make one up. A version that disagrees with the stream
 * held here, or with another version, proves the equivocation (its device signed both), and flags
 * the device here too; the evidence seals go with every offer, so peers that hold neither version can
 * check it. A better version that extends the one held is applied; one that disagrees rebuilds the
 * document without the other (TextDoc.rebuiltWith), keeping the ops held past its counter. A peer
 * that holds a worse version than one sealed here is sent this one.
 *
 * Withholding, settled the same way (docs/PROTOCOL.md, "Withholding"): a member that flagged a device
 * for leaving its edits unsealed (or for equivocating) signs the stream of each of its replicas that
 * it holds past the last seal (`attest`), and offers it as an attested version. Peers take one after
 * ATTEST_WAIT_MS, once they have asked everyone for a seal of it. A replica is then its best sealed
 * stream, and past its counter the best attested one (`spliceStream`): the device's seal wins the
 * counters it covers, and of two attested versions the better one (as for seals). So what the device
 * sent one peer, and all typed beside it, reaches every peer. A peer is offered the sealed version and
 * the attested one apart (`betterFor`): one that took another stream up to the seal (the device sent
 * peers different ones, and sealed a part of one) rebuilds on the sealed one, keeping its ops past it.
 *
 * Bounds: versions per batch and ops per version (versions.ts); rebuilds (each costs what the whole
 * document does) per replica and per document (MAX_REBUILDS_PER_REPLICA, MAX_REBUILDS), one at a time;
 * attested versions waiting and kept to pass on (MAX_WAITING_BYTES, MAX_ATTESTED_BYTES).
 */
import { droppedFor, encodeTextOps } from '../../shared/crdt/text-codec'
import type { TextOp } from '../../shared/crdt/ops'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { fromHex, toHex } from '../../shared/sync/hex'
import type { Sign } from '../../shared/members/member-op'
import type { PeerSession } from '../../shared/sync/session'
import type { TextView } from '../storage/durable-doc'
import type { Provenance } from './provenance'
import { decodeAttestedRecord, encodeAttestedRecord } from './attested-record'
import type { Seal } from './replica-seal'
import {
  attestPayload,
  better,
  decodeVersions,
  outranks,
  type Ranked,
  encodeVersions,
  MAX_VERSION_OPS_BYTES,
  MAX_VERSIONS_PER_BATCH,
  sameSeal,
  spliceStream,
  versionDigest,
  type Version,
} from './versions'
import { CURRENT_FORM } from './stream-digest'

/** A replica whose device keeps signing new versions is rebuilt this often at most, then left as it is. */
export const MAX_REBUILDS_PER_REPLICA = 16
/** Rebuilds of one document per run: past this, replicas are left as they are (and the node says so). */
export const MAX_REBUILDS = 256
/**
 * An attested version is taken this long after it came (sealWaitMs if shorter). Peers are asked for a
 * seal of its replica at once, so that the device's own seal (which wins the counters it covers) is
 * usually here first, and a made-up tail never replaces what the device typed.
 */
export const ATTEST_WAIT_MS = 5_000
/** The ops of attested versions waiting to be taken, per document; more wait for the next offer. */
export const MAX_WAITING_BYTES = 16 << 20
/** The ops of attested versions kept to pass on, per document; past this, peers get them elsewhere. */
export const MAX_ATTESTED_BYTES = 32 << 20

export interface ForksHost {
  readonly docId: string
  readonly provenance: Provenance
  text(): TextView
  log(message: string): void
  peers(): PeerSession[]
  send(to: PeerSession, batch: Uint8Array): void
  cutOff(session: PeerSession): void
  /** Applies ops of one replica that extend what is held of it (they are vouched for). */
  extend(batch: Uint8Array): Promise<void>
  /**
   * Rebuilds the text with `version` as the ops of `replica` (the windows start again from it); false,
   * and nothing changes, if edits of this device typed against characters the version lacks would
   * then wait for them (see DurableDoc.replaceVersion).
   */
  replace(replica: string, version: Uint8Array): Promise<boolean>
  flagged(device: string): void
  /** This device's key, and its signature (for attested versions). */
  readonly self: Uint8Array
  readonly sign: Sign
  verify(key: Uint8Array, payload: Uint8Array, signature: Uint8Array): boolean
  now(): number
  /** How long an attested version waits before it is taken. */
  readonly attestWaitMs: number
  /** Whether a device may attest (a member who may write, not flagged). */
  mayAttest(device: string): boolean
  /** Seals this device's own replica now (before counters past it are taken from an attested version). */
  sealOwn(replica: string): void
  /** This device took a tail of its own replica from another member's attestation: it says so (signed). */
  tookTail(replica: string, range: Attested): void
  /** Asks every peer for the latest seal of `replica` (its device answers with its own). */
  askSeal(replica: string, counter: number): void
  /** What was kept of attested versions at the last run (`storeAttested`), to take up again. */
  readonly storedAttested: readonly Uint8Array[]
  /** Keeps what this node holds of an attested version of `replica` on disk (empty: none any more). */
  storeAttested(replica: string, record: Uint8Array): void
}

/** Counters of a replica that stand in on an attested version, and the member who attested them (hex). */
export interface Attested {
  readonly from: number
  readonly to: number
  readonly by: string
}

/** Whether a value (from an author record, a peer's word) has the form of an Attested range. */
export function isAttested(x: unknown): x is Attested {
  if (typeof x !== 'object' || x === null) return false
  const { from, to, by } = x as Record<string, unknown>
  return (
    Number.isSafeInteger(from) &&
    Number.isSafeInteger(to) &&
    (from as number) >= 1 &&
    (to as number) >= (from as number) &&
    typeof by === 'string' &&
    /^[0-9a-f]{64}$/.test(by)
  )
}

const sameDigest = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i])

export class Forks {
  /**
   * Per peer, of each replica, the sealed version it was last sent or said it holds, and the attested
   * one apart: a peer may hold the best attested version and still lack the device's seal (and the
   * ops it covers), which wins the counters it covers.
   */
  private readonly theirs = new WeakMap<
    PeerSession,
    { sealed: Map<string, Seal>; attested: Map<string, Ranked> }
  >()
  private readonly rebuilds = new Map<string, number>()
  private rebuilt = 0
  /** Flagged devices whose unsealed ops here were attested (`settle`). */
  private readonly settled = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  /** Tasks queued or running (`run`). */
  private tasks = 0
  /** Replicas whose sealed version peers are asked for, by an offer of the one held here. */
  private readonly asking = new Set<string>()
  /**
   * Per replica, the attested version this node took or made, with its ops as signed (the text may
   * hold another stream up to its device's seal), while it goes past that seal: offered to peers like
   * a sealed version.
   */
  private readonly attested = new Map<string, Version>()
  private attestedBytes = 0
  /** Attested versions from peers, waiting out attestWaitMs before they are taken (`tick`). */
  private readonly waiting = new Map<string, { version: Version; since: number }>()
  private waitingBytes = 0
  /**
   * Per replica, the counters whose ops stand in on an attested version (past its device's seal when
   * taken), and who attested them: history shows them as that member's word, not the device's, until
   * the device seals them (`attestedOf`).
   */
  private readonly ranges = new Map<string, Attested>()

  constructor(private readonly host: ForksHost) {
    for (const bytes of host.storedAttested) this.restore(bytes)
  }

  /**
   * Takes up an attested version kept at the last run: the counters that stand on its attester's
   * word (history shows them so), and the version to offer peers. Not if its device sealed as far
   * since, or the text no longer holds them (its replica was rebuilt on a sealed version).
   */
  private restore(bytes: Uint8Array): void {
    const record = decodeAttestedRecord(bytes)
    if (!record) return
    const { replica, range, seal } = record
    const text = this.host.text()
    const sealed = this.host.provenance.sealOf(replica)?.counter ?? 0
    if (range.to <= sealed || text.seenOf(replica) < range.to) return
    this.ranges.set(replica, range)
    const what = `${replica}: counters ${range.from}–${range.to} as attested by ${range.by.slice(0, 8)}, from disk`
    if (!seal || seal.counter <= sealed || text.seenOf(replica) < seal.counter) return this.host.log(what)
    // Its ops as signed, from the text: where the text holds another stream up to the device's seal
    // (it was spliced on a sealed version), they do not give the digest, and only the range is kept.
    const ops = opsUpTo(text, replica, seal.counter)
    if (
      ops.length > MAX_VERSION_OPS_BYTES ||
      !sameDigest(versionDigest(ops, replica, seal.counter, seal.form), seal.digest)
    )
      return this.host.log(what)
    this.keepAttested({ seal, ops, held: true, attester: fromHex(range.by) })
    this.host.log(`${what}, with the version to offer`)
  }

  /** Keeps on disk what this node holds of an attested version of `replica`: its range and seal. */
  private remember(replica: string): void {
    const range = this.ranges.get(replica)
    if (!range) return
    const version = this.attested.get(replica)
    const seal = version && toHex(version.attester!) === range.by ? version.seal : null
    this.host.storeAttested(replica, encodeAttestedRecord({ replica, range, seal }))
  }

  /** Versions from a peer: checked, then they may flag their device, extend or rebuild a replica. */
  receive(batch: Uint8Array, from: PeerSession): Promise<void> {
    const { provenance } = this.host
    let versions: Version[]
    try {
      versions = decodeVersions(batch)
      for (const v of versions) {
        if (!(v.attester ? this.signedByAttester(v) : provenance.signedByDevice(v.seal)))
          throw new CrdtDecodeError(`a seal of ${v.seal.replica} has a bad signature`)
        if (
          v.ops &&
          !sameDigest(versionDigest(v.ops, v.seal.replica, v.seal.counter, v.seal.form), v.seal.digest)
        )
          throw new CrdtDecodeError(`the ops of a version of ${v.seal.replica} do not match its seal`)
      }
    } catch (err) {
      if (!(err instanceof CrdtDecodeError)) throw err
      this.host.log(
        `malformed versions for ${this.host.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ${err.message}`,
      )
      this.host.cutOff(from)
      return Promise.resolve()
    }
    versions = versions.filter((v) => (v.attester ? this.attestable(v) : provenance.bindSeal(v.seal)))
    const known = this.theirsOf(from)
    // What the sender holds (an empty version too: a claim), so that it is sent a better one.
    for (const v of versions) {
      // Its word, even if worse than what it was sent: it may not have taken that (yet), and is sent it again.
      if (!v.held) continue
      if (v.attester) known.attested.set(v.seal.replica, v)
      else known.sealed.set(v.seal.replica, v.seal)
    }
    const sealed = versions.filter((v) => !v.attester)
    for (const v of versions) if (v.attester) this.wait(v)
    for (const device of new Set(sealed.map((v) => toHex(v.seal.device)))) {
      const mine = sealed.filter((v) => toHex(v.seal.device) === device)
      if (!provenance.isFlagged(device) && this.proves(mine)) {
        provenance.flagDevice(device, mine.map((v) => v.seal).slice(0, 2))
        this.host.log(
          `device ${device.slice(0, 8)} signed two different histories of its edits to ${this.host.docId.slice(0, 8)} (shown by a peer): flagged`,
        )
        this.host.flagged(device)
      }
    }
    return this.run(async () => {
      for (const device of new Set(sealed.map((v) => toHex(v.seal.device)))) {
        if (provenance.isFlagged(device)) this.settle(device)
      }
      for (const v of sealed) if (v.ops) await this.consider(v)
      this.offerAll()
    })
  }

  /**
   * A device is withholding (it leaves seal requests for its edits unanswered): this node signs, for
   * each of its replicas, the stream held here past its last seal, and offers it. Called again as the
   * device sends more.
   */
  attest(device: string): Promise<void> {
    return this.run(() => {
      let made = false
      for (const replica of this.host.provenance.replicasOf(device))
        made = this.attestReplica(replica, 'its device withholds its seals') || made
      if (made) this.offerAll()
      return Promise.resolve()
    })
  }

  /**
   * Signs the stream of `replica` held here past its seal as an attested version, unless one as long
   * is held already. Returns whether it made one.
   */
  private attestReplica(replica: string, why: string): boolean {
    const { provenance, docId } = this.host
    const text = this.host.text()
    const seen = text.seenOf(replica)
    const claim = provenance.sealOf(replica)
    if (!claim || seen <= claim.counter || (this.attestedVersion(replica)?.seal.counter ?? 0) >= seen)
      return false
    const digest = provenance.digestOf(replica, seen)
    if (!digest) return false
    const ops = opsUpTo(text, replica, seen)
    if (ops.length > MAX_VERSION_OPS_BYTES) return false // too large to pass on
    const self = this.host.self
    const signature = this.host.sign(attestPayload(docId, replica, seen, digest, self))
    this.keepAttested({
      seal: { ...claim, counter: seen, form: CURRENT_FORM, digest, signature },
      ops,
      held: true,
      attester: self,
    })
    this.ranges.set(replica, { from: claim.counter + 1, to: seen, by: toHex(self) })
    this.remember(replica)
    this.host.log(`${replica} attested up to ${seen}: ${why}`)
    return true
  }

  /** Attested versions from peers waiting to be taken (`tick`). */
  waitingCount(): number {
    return this.waiting.size
  }

  /** Attested versions whose wait is over are taken (anti-entropy calls this each round). */
  tick(): void {
    const now = this.host.now()
    for (const [replica, { version, since }] of this.waiting) {
      if (now - since < this.host.attestWaitMs) continue
      this.waiting.delete(replica)
      this.waitingBytes -= version.ops!.length
      void this.run(() => this.takeAttested(version))
    }
    // A replica that stands in on an attested version here, whose device sealed further: the seal
    // cannot be checked against the stream here (its ops may differ), so its sealed version is asked for.
    for (const replica of this.ranges.keys()) {
      const { provenance } = this.host
      if ((provenance.signedUpTo(replica)?.counter ?? 0) > (provenance.sealOf(replica)?.counter ?? 0))
        this.asking.add(replica)
    }
  }

  /** A device was flagged here: its unsealed ops here are attested (`settle`), and peers offered versions. */
  flaggedHere(device: string): Promise<void> {
    return this.run(() => {
      this.settle(device)
      this.offerAll()
      return Promise.resolve()
    })
  }

  /**
   * A seal disagrees with ops of its replica taken straight from its device and not sealed (or
   * attested): they give way to it. Peers are offered the seal held here, so that those that hold the
   * sealed version answer with it (and its ops); `consider` then rebuilds the replica on it, keeping
   * the ops held here past its counter.
   */
  giveWay(seal: Seal): Promise<void> {
    return this.run(() => {
      this.host.log(`unsealed ops of ${seal.replica} give way to its seal at ${seal.counter}`)
      this.asking.add(seal.replica)
      this.offerAll()
      return Promise.resolve()
    })
  }

  /**
   * A peer connected, or anti-entropy came round: it is sent versions better than those it holds.
   * Returns how many it was sent.
   */
  offerTo(peer: PeerSession): number {
    const out = this.betterFor(peer)
    for (let i = 0; i < out.length; i += MAX_VERSIONS_PER_BATCH) {
      this.host.send(peer, encodeVersions(out.slice(i, i + MAX_VERSIONS_PER_BATCH)))
    }
    return out.length
  }

  /**
   * Whether nothing here waits for a later round: no version asked for, kept to offer, waiting to be
   * taken or standing in past a seal, and no task under way (DocProvenance.retrySeals).
   */
  quiet(): boolean {
    return (
      this.tasks === 0 &&
      this.asking.size === 0 &&
      this.attested.size === 0 &&
      this.waiting.size === 0 &&
      this.ranges.size === 0
    )
  }

  /**
   * Whether these versions of one device show two histories of a replica that it signed: two of them,
   * or one and the version sealed here (unsealed ops taken from it prove nothing to anyone else).
   */
  private proves(versions: readonly Version[]): boolean {
    const { provenance } = this.host
    for (const v of versions) {
      const { replica, counter } = v.seal
      const sealed = provenance.sealOf(replica)
      if (sealed && sealed.counter > 0) {
        // (Null while some of its ops here are parked: nothing to compare yet.)
        const ours = counter <= sealed.counter ? provenance.digestOf(replica, counter, v.seal.form) : null
        if (ours && !sameDigest(ours, v.seal.digest)) return true
        if (
          v.ops &&
          counter > sealed.counter &&
          !sameDigest(versionDigest(v.ops, replica, sealed.counter, sealed.form), sealed.digest)
        )
          return true
      }
      for (const w of versions) {
        if (w === v || w.seal.replica !== replica) continue
        if (
          w.seal.counter === counter &&
          w.seal.form === v.seal.form &&
          !sameDigest(w.seal.digest, v.seal.digest)
        )
          return true
        if (
          v.ops &&
          w.seal.counter < counter &&
          !sameDigest(versionDigest(v.ops, replica, w.seal.counter, w.seal.form), w.seal.digest)
        )
          return true
      }
    }
    return false
  }

  private signedByAttester(v: Version): boolean {
    const { replica, counter, digest, signature } = v.seal
    return this.host.verify(
      v.attester!,
      attestPayload(this.host.docId, replica, counter, digest, v.attester!),
      signature,
    )
  }

  /**
   * Whether an attested version may be considered: its replica is bound here to the device it names
   * (by that device's claim; this device's own too), and its attester is another member who may
   * write. (Else it is ignored: roles change, and a relay passes on what was true when it took it.)
   */
  private attestable(v: Version): boolean {
    const { provenance } = this.host
    const device = toHex(v.seal.device)
    const attester = toHex(v.attester!)
    return (
      provenance.deviceOf(v.seal.replica) === device && attester !== device && this.host.mayAttest(attester)
    )
  }

  /** An attested version from a peer waits (if it is better than what waits or is held), and peers are asked for a seal. */
  private wait(v: Version): void {
    const { replica, counter } = v.seal
    if (counter <= (this.host.provenance.sealOf(replica)?.counter ?? 0)) return
    const prior = this.waiting.get(replica)
    const held = prior?.version ?? this.attestedVersion(replica)
    if (held && !outranks(v, held)) return
    if (this.waitingBytes - (prior?.version.ops!.length ?? 0) + v.ops!.length > MAX_WAITING_BYTES) return
    this.waitingBytes += v.ops!.length - (prior?.version.ops!.length ?? 0)
    this.waiting.set(replica, { version: v, since: this.host.now() })
    this.host.askSeal(replica, counter)
  }

  /**
   * Takes an attested version whose wait is over, unless a seal of its device covers as much or the
   * stream held here is better: the replica is then its sealed stream here, and the version's past
   * that (`spliceStream`), extended or rebuilt. This device's own replica is sealed first, so that
   * only counters it never used are taken (and its next edit goes past them).
   */
  private async takeAttested(v: Version): Promise<void> {
    const { provenance } = this.host
    const { replica, counter } = v.seal
    if (!this.attestable(v)) return
    if (provenance.isOwn(replica)) this.host.sealOwn(replica)
    const signed = provenance.signedUpTo(replica)
    if (signed && signed.counter >= counter) {
      this.asking.add(replica) // its device sealed as far: peers that hold that version are asked for it
      return
    }
    const prior = this.attestedVersion(replica)
    if (prior && !outranks(v, prior)) return
    const text = this.host.text()
    const seen = text.seenOf(replica)
    const sealed = provenance.sealOf(replica)?.counter ?? 0
    const spliced = spliceStream(opsUpTo(text, replica, sealed), v.ops!, replica, sealed)
    const ours = provenance.digestOf(replica, Math.min(seen, counter))
    if (ours === null) return // some of its ops here are parked: it comes again with the next offer
    const by = toHex(v.attester!)
    const range = { from: sealed + 1, to: counter, by }
    const before = this.ranges.get(replica)
    // Set as the text changes (a reader sees both at once); put back if the rebuild is refused.
    this.ranges.set(replica, range)
    if (sameDigest(ours, versionDigest(spliced, replica, Math.min(seen, counter)))) {
      if (counter > seen) await this.host.extend(spliced)
    } else {
      // The stream held here past the seal disagrees: ops taken from the device (it sent peers
      // different ones), or another attested version. The better of the two stays.
      const digest = provenance.digestOf(replica, seen)
      const held = digest && (prior && seen === prior.seal.counter ? prior.seal : { counter: seen, digest })
      // (No digest: parked ops here; it comes again with the next offer.)
      const rebuild = held !== null && better(v.seal, held) && this.mayRebuild(replica)
      if (rebuild)
        this.host.log(`${replica} rebuilt on the version attested at ${counter} by ${by.slice(0, 8)}`)
      if (!rebuild || !(await this.host.replace(replica, spliced))) {
        if (before) this.ranges.set(replica, before)
        else this.ranges.delete(replica)
        if (rebuild) this.keep(replica)
        return
      }
    }
    provenance.rebuilt(replica)
    this.keepAttested(v)
    this.remember(replica)
    if (provenance.isOwn(replica)) this.host.tookTail(replica, range)
    this.host.log(`${replica}: counters ${sealed + 1}–${counter} taken as attested by ${by.slice(0, 8)}`)
    this.offerAll()
  }

  /**
   * A device was flagged: the ops of each of its replicas held here past its seal, taken straight
   * from it (text may have been typed beside them), are attested, so that peers settle on them as on
   * any attested version (none past an attested version taken here).
   */
  private settle(device: string): void {
    if (this.settled.has(device)) return
    this.settled.add(device)
    for (const replica of this.host.provenance.replicasOf(device))
      this.attestReplica(replica, 'its device is flagged')
  }

  /** Takes `v` (checked, with its ops) if it is better than the version held of its replica. */
  private async consider(v: Version): Promise<void> {
    const { provenance } = this.host
    const { replica, counter } = v.seal
    const device = toHex(v.seal.device)
    const held = provenance.sealOf(replica)
    if (held && !better(v.seal, held)) return
    const text = this.host.text()
    const seen = text.seenOf(replica)
    const at = Math.min(seen, counter)
    const ours = provenance.digestOf(replica, at)
    if (ours === null) return // some of its ops here are parked: not comparable yet
    if (sameDigest(ours, versionDigest(v.ops!, replica, at))) {
      // One is the other's prefix. Its device's later ops, sealed, are taken whether or not it is flagged.
      if (counter > seen) await this.host.extend(v.ops!)
      if (text.seenOf(replica) >= counter) provenance.tookVersion(v.seal)
      return
    }
    // It disagrees with what is held here: with a version its device sealed (then the device is
    // flagged: proves()), or with ops taken from it unsealed or attested, which give way up to its
    // counter (past it they stay: text typed beside them keeps its place).
    if (!this.mayRebuild(replica)) return
    this.host.log(
      `${replica} rebuilt on the version sealed at ${counter}` +
        (provenance.isFlagged(device) ? ': its device signed two histories' : ': it replaces unsealed ops'),
    )
    const version =
      seen > counter ? spliceStream(v.ops!, opsUpTo(text, replica, seen), replica, counter) : v.ops!
    if (await this.host.replace(replica, version)) provenance.tookVersion(v.seal)
    else this.keep(replica)
  }

  /**
   * The counters of a replica that stand in here on an attested version, past its device's seal, and
   * who attested them. Those its device sealed since are its own word (a device that took a made-up
   * tail of its own replica says so itself: `tookTail`).
   */
  attestedOf(replica: string): Attested | undefined {
    const range = this.ranges.get(replica)
    if (!range) return undefined
    const from = Math.max(range.from, (this.host.provenance.sealOf(replica)?.counter ?? 0) + 1)
    return from <= range.to ? { ...range, from } : undefined
  }

  /** A rebuild refused: this device typed against characters of `replica` the version lacks. */
  private keep(replica: string): void {
    this.host.log(
      `${replica} kept as it is: this device's edits name characters of it that the sealed version lacks`,
    )
  }

  /** Counts a rebuild of `replica`; false past the bounds (logged once). */
  private mayRebuild(replica: string): boolean {
    const n = this.rebuilds.get(replica) ?? 0
    if (n >= MAX_REBUILDS_PER_REPLICA || this.rebuilt >= MAX_REBUILDS) {
      if (this.rebuilt++ === MAX_REBUILDS || n === MAX_REBUILDS_PER_REPLICA)
        this.host.log(
          `${this.host.docId.slice(0, 8)}: too many rebuilds (${replica}): versions left as they are`,
        )
      this.rebuilds.set(replica, n + 1)
      return false
    }
    this.rebuilds.set(replica, n + 1)
    this.rebuilt++
    return true
  }

  /** Each peer is sent the versions held here that are better than what it holds. */
  private offerAll(): void {
    for (const peer of this.host.peers()) this.offerTo(peer)
  }

  /**
   * The versions held here that are better than what `peer` holds: of each replica, its sealed version
   * (the seal and the ops it covers) and, past it, the attested version kept here, each ranked apart.
   * The sealed version goes even where the attested one covers more: the device's seal wins the
   * counters it covers, and a peer that took another stream up to it (straight from the device, or in
   * another attested version) rebuilds on it (`consider`), keeping its ops past the seal.
   */
  private betterFor(peer: PeerSession): Version[] {
    const { provenance } = this.host
    const known = this.theirsOf(peer)
    const replicas = new Set([
      ...known.sealed.keys(),
      ...known.attested.keys(),
      ...this.asking,
      ...this.attested.keys(),
    ])
    for (const device of provenance.equivocators()) {
      for (const replica of provenance.replicasOf(device)) replicas.add(replica)
    }
    const out: Version[] = []
    const proven = new Set<string>() // devices whose evidence is in `out` already
    for (const replica of replicas) {
      const seal = provenance.sealOf(replica)
      if (!seal) continue
      const attested = this.attestedVersion(replica)
      const had = known.sealed.get(replica)
      // A claim (counter 0) too: it tells the peer this node holds none of the replica, and a peer
      // that holds a sealed version answers with it. Ops a seal vouched for may still be on their way
      // into the text: offered next round.
      if ((!had || better(seal, had)) && this.host.text().seenOf(replica) >= seal.counter) {
        known.sealed.set(replica, seal)
        const ops = seal.counter > 0 ? opsUpTo(this.host.text(), replica, seal.counter) : null
        out.push({ seal, ops: ops && ops.length <= MAX_VERSION_OPS_BYTES ? ops : null, held: true })
        const device = toHex(seal.device)
        // The proof goes with it, once per device: a peer that holds neither version can check it.
        if (!proven.has(device)) {
          proven.add(device)
          for (const e of provenance.evidenceOf(device))
            if (!sameSeal(e, seal)) out.push({ seal: e, ops: null, held: false })
        }
      }
      if (!attested) continue
      const theirs = known.attested.get(replica)
      if (theirs && !outranks(attested, theirs)) continue
      // Not to a peer whose seal covers as much (it would not take it).
      if ((known.sealed.get(replica)?.counter ?? 0) >= attested.seal.counter) continue
      known.attested.set(replica, attested)
      out.push(attested)
    }
    return out
  }

  /** The attested version kept of a replica, while it goes past the replica's seal here. */
  private attestedVersion(replica: string): Version | undefined {
    const v = this.attested.get(replica)
    if (v && v.seal.counter <= (this.host.provenance.sealOf(replica)?.counter ?? 0)) {
      this.attested.delete(replica) // its device sealed as far since
      this.attestedBytes -= v.ops!.length
      this.host.storeAttested(replica, new Uint8Array(0))
      return undefined
    }
    return v
  }

  /** Keeps `v` (with its ops) as the attested version of its replica, within MAX_ATTESTED_BYTES. */
  private keepAttested(v: Version): void {
    const prior = this.attested.get(v.seal.replica)
    const bytes = this.attestedBytes - (prior?.ops!.length ?? 0) + v.ops!.length
    if (bytes > MAX_ATTESTED_BYTES) return
    this.attested.set(v.seal.replica, v)
    this.attestedBytes = bytes
  }

  private theirsOf(peer: PeerSession): { sealed: Map<string, Seal>; attested: Map<string, Ranked> } {
    let known = this.theirs.get(peer)
    if (!known) this.theirs.set(peer, (known = { sealed: new Map(), attested: new Map() }))
    return known
  }

  /** One change at a time: a rebuild waits for the one before. */
  private run(task: () => Promise<void>): Promise<void> {
    this.tasks++
    const next = this.queue.then(task).finally(() => this.tasks--)
    this.queue = next.catch((err: unknown) =>
      this.host.log(`versions for ${this.host.docId.slice(0, 8)}: ${String(err)}`),
    )
    return this.queue
  }
}

/** The ops of `replica` held here, from its first up to `counter`, as one batch. */
export function opsUpTo(text: TextView, replica: string, counter: number): Uint8Array {
  const { ids, agent, ops } = text.opsOf(replica, 0)
  const out: TextOp[] = []
  for (const op of ops) {
    if (op.counter > counter) break
    out.push(op.counter + op.length - 1 > counter ? op.prefix(counter - op.counter + 1) : op)
  }
  // Blocks whose text was dropped here are named with their hashes, as a catch-up names them.
  const dropped = agent < 0 ? undefined : text.droppedOf(replica)
  const named = dropped && droppedFor(ids, out, new Map([[replica, dropped]]))
  return encodeTextOps(ids, agent < 0 ? [] : out, undefined, true, undefined, named)
}
