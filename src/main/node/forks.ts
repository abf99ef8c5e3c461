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
 * document without the other (TextDoc.rebuiltWith); the unsealed ops of a flagged replica are cut.
 * A peer that holds a worse version than one sealed here is sent this one.
 *
 * Bounds: versions per batch and ops per version (versions.ts); rebuilds (each costs what the whole
 * document does) per replica and per document (MAX_REBUILDS_PER_REPLICA, MAX_REBUILDS), one at a time.
 */
import { encodeTextOps } from '../../shared/crdt/text-codec'
import type { TextOp } from '../../shared/crdt/ops'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { toHex } from '../../shared/sync/hex'
import type { PeerSession } from '../../shared/sync/session'
import type { TextView } from '../storage/durable-doc'
import type { Provenance } from './provenance'
import type { Seal } from './replica-seal'
import {
  better,
  decodeVersions,
  encodeVersions,
  MAX_VERSION_OPS_BYTES,
  MAX_VERSIONS_PER_BATCH,
  sameSeal,
  versionDigest,
  type Version,
} from './versions'

/** A replica whose device keeps signing new versions is rebuilt this often at most, then left as it is. */
export const MAX_REBUILDS_PER_REPLICA = 16
/** Rebuilds of one document per run: past this, replicas are left as they are (and the node says so). */
export const MAX_REBUILDS = 256

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
}

const sameDigest = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i])

export class Forks {
  /** Per peer, the version of each replica it was last sent or offered. */
  private readonly theirs = new WeakMap<PeerSession, Map<string, Seal>>()
  private readonly rebuilds = new Map<string, number>()
  private rebuilt = 0
  /** Flagged devices whose replicas were cut to their sealed versions here. */
  private readonly settled = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  /** Replicas cut back to their seal here, whose sealed version peers are asked for by an offer. */
  private readonly asking = new Set<string>()

  constructor(private readonly host: ForksHost) {}

  /** Versions from a peer: checked, then they may flag their device, extend or rebuild a replica. */
  receive(batch: Uint8Array, from: PeerSession): Promise<void> {
    const { provenance } = this.host
    let versions: Version[]
    try {
      versions = decodeVersions(batch)
      for (const v of versions) {
        if (!provenance.signedByDevice(v.seal))
          throw new CrdtDecodeError(`a seal of ${v.seal.replica} has a bad signature`)
        if (v.ops && !sameDigest(versionDigest(v.ops, v.seal.replica, v.seal.counter), v.seal.digest))
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
    versions = versions.filter((v) => provenance.bindSeal(v.seal))
    const known = this.theirsOf(from)
    // What the sender holds (an empty version too: a claim), so that it is sent a better one.
    for (const v of versions) {
      if (!v.held) continue
      const had = known.get(v.seal.replica)
      if (!had || better(v.seal, had)) known.set(v.seal.replica, v.seal)
    }
    for (const device of new Set(versions.map((v) => toHex(v.seal.device)))) {
      const mine = versions.filter((v) => toHex(v.seal.device) === device)
      if (!provenance.isFlagged(device) && this.proves(mine)) {
        provenance.flagDevice(device, mine.map((v) => v.seal).slice(0, 2))
        this.host.log(
          `device ${device.slice(0, 8)} signed two different histories of its edits to ${this.host.docId.slice(0, 8)} (shown by a peer): flagged`,
        )
        this.host.flagged(device)
      }
    }
    return this.run(async () => {
      for (const device of new Set(versions.map((v) => toHex(v.seal.device)))) {
        if (provenance.isFlagged(device)) await this.settle(device)
      }
      for (const v of versions) if (v.ops) await this.consider(v)
      this.offerAll()
    })
  }

  /** A device was flagged here: its replicas are cut to their sealed versions, and peers are offered them. */
  flaggedHere(device: string): Promise<void> {
    return this.run(async () => {
      await this.settle(device)
      this.offerAll()
    })
  }

  /**
   * A seal disagrees with ops of its replica taken straight from its device and not sealed: they give
   * way. The replica is cut to its last seal held here, and peers are offered that, so that those that
   * hold the sealed version answer with it (and its ops).
   */
  giveWay(seal: Seal): Promise<void> {
    return this.run(async () => {
      const { provenance } = this.host
      const text = this.host.text()
      const held = provenance.sealOf(seal.replica)
      const sealed = held?.counter ?? 0
      if (text.seenOf(seal.replica) > sealed) {
        this.host.log(`unsealed ops of ${seal.replica} give way to its seal at ${seal.counter}`)
        if (!this.mayRebuild(seal.replica)) return
        if (!(await this.host.replace(seal.replica, opsUpTo(text, seal.replica, sealed))))
          return this.keep(seal.replica)
        if (held) provenance.tookVersion(held)
      }
      this.asking.add(seal.replica)
      this.offerAll()
    })
  }

  /** A peer connected, or anti-entropy came round: it is sent versions better than those it holds. */
  offerTo(peer: PeerSession): void {
    const out = this.betterFor(peer)
    for (let i = 0; i < out.length; i += MAX_VERSIONS_PER_BATCH) {
      this.host.send(peer, encodeVersions(out.slice(i, i + MAX_VERSIONS_PER_BATCH)))
    }
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
        const ours = counter <= sealed.counter ? provenance.digestOf(replica, counter) : null
        if (ours && !sameDigest(ours, v.seal.digest)) return true
        if (
          v.ops &&
          counter > sealed.counter &&
          !sameDigest(versionDigest(v.ops, replica, sealed.counter), sealed.digest)
        )
          return true
      }
      for (const w of versions) {
        if (w === v || w.seal.replica !== replica) continue
        if (w.seal.counter === counter && !sameDigest(w.seal.digest, v.seal.digest)) return true
        if (
          v.ops &&
          w.seal.counter < counter &&
          !sameDigest(versionDigest(v.ops, replica, w.seal.counter), w.seal.digest)
        )
          return true
      }
    }
    return false
  }

  /** Cuts each replica of a flagged device to the version its seal held here covers (none: no ops). */
  private async settle(device: string): Promise<void> {
    if (this.settled.has(device)) return
    this.settled.add(device)
    for (const replica of this.host.provenance.replicasOf(device)) {
      const text = this.host.text() // a new one after each rebuild
      const seal = this.host.provenance.sealOf(replica)
      const sealed = seal?.counter ?? 0
      if (text.seenOf(replica) <= sealed) continue
      this.host.log(`ops of ${replica} after its seal (${sealed}) cut: its device is flagged`)
      if (!this.mayRebuild(replica)) continue
      if (!(await this.host.replace(replica, opsUpTo(text, replica, sealed)))) this.keep(replica)
      else if (seal) this.host.provenance.tookVersion(seal)
    }
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
      if (text.seenOf(replica) === counter) provenance.tookVersion(v.seal)
      return
    }
    // It disagrees with what is held here: with a version its device sealed (then the device is
    // flagged: proves()), or with ops taken from it unsealed, which give way.
    if (!this.mayRebuild(replica)) return
    this.host.log(
      `${replica} rebuilt on the version sealed at ${counter}` +
        (provenance.isFlagged(device) ? ': its device signed two histories' : ': it replaces unsealed ops'),
    )
    if (await this.host.replace(replica, v.ops!)) provenance.tookVersion(v.seal)
    else this.keep(replica)
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

  private betterFor(peer: PeerSession): Version[] {
    const { provenance } = this.host
    const known = this.theirsOf(peer)
    const replicas = new Set([...known.keys(), ...this.asking])
    for (const device of provenance.equivocators()) {
      for (const replica of provenance.replicasOf(device)) replicas.add(replica)
    }
    const out: Version[] = []
    const proven = new Set<string>() // devices whose evidence is in `out` already
    for (const replica of replicas) {
      // A claim (counter 0) too: it tells the peer this node holds none of the replica, and a peer
      // that holds a sealed version answers with it.
      const seal = provenance.sealOf(replica)
      if (!seal) continue
      const had = known.get(replica)
      if (had && (sameSeal(had, seal) || !better(seal, had))) continue
      known.set(replica, seal)
      const ops = seal.counter > 0 ? opsUpTo(this.host.text(), replica, seal.counter) : null
      out.push({ seal, ops: ops && ops.length <= MAX_VERSION_OPS_BYTES ? ops : null, held: true })
      const device = toHex(seal.device)
      // The proof goes with it, once per device: a peer that holds neither version can check it.
      if (proven.has(device)) continue
      proven.add(device)
      for (const e of provenance.evidenceOf(device))
        if (!sameSeal(e, seal)) out.push({ seal: e, ops: null, held: false })
    }
    return out
  }

  private theirsOf(peer: PeerSession): Map<string, Seal> {
    let known = this.theirs.get(peer)
    if (!known) this.theirs.set(peer, (known = new Map()))
    return known
  }

  /** One change at a time: a rebuild waits for the one before. */
  private run(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task)
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
  return encodeTextOps(ids, agent < 0 ? [] : out, undefined, true)
}
