/**
 * Who wrote what, for one open document (docs/PROTOCOL.md, "Edits bound to their author"): the glue
 * between a DocSession and its Provenance (provenance.ts) and signed property writes (signed-props.ts).
 *
 * It checks a peer's text ops and property writes before they are applied (taken, held for a seal,
 * or refused), asks for the seals held ops wait for and passes seals on ahead of the ops they vouch
 * for, seals this device's replicas once their edits pause, and hands out this device's replicas
 * (taken up again from the last clean close when it can). The session applies, stores and sends.
 */
import { randomBytes } from 'node:crypto'
import {
  CrdtDecodeError,
  decodePropWrites,
  encodePropWrites,
  type DecodedMapBatch,
  type PropWrite,
} from '../../shared/crdt'
import { truncateString } from '../../shared/crdt/bytes'
import type { TextOp } from '../../shared/crdt/ops'
import {
  decodeTextBatchReplicas,
  decodeTextOps,
  droppedFor,
  encodeTextOps,
  type DecodedOps,
} from '../../shared/crdt/text-codec'
import type { Sign } from '../../shared/members/member-op'
import { fromHex, toHex } from '../../shared/sync/hex'
import { Channel, type DocVersions, type Role } from '../../shared/sync/messages'
import { isEmptyBatch, type PeerSession } from '../../shared/sync/session'
import type { DurableDoc, Stages } from '../storage/durable-doc'
import { memberCrypto } from './crypto'
import { ATTEST_WAIT_MS, Forks, type Attested } from './forks'
import { decodeCheckpoint, encodeCheckpoint, Provenance, type Checkpoint } from './provenance'
import {
  decodeSeals,
  encodeSeals,
  isDerivedForm,
  MAX_SEALS_PER_BATCH,
  NONCE_BYTES,
  type Seal,
} from './replica-seal'
import { AUTHOR_PREFIX, checkPropWrites, propSigner } from './signed-props'
import { checkTreeOps, treeSigner } from './signed-tree'
import type { TreeOp } from '../../shared/tree/tree-ops'
import { decodeTreePart, encodeTreePart } from '../../shared/tree/tree-part'
import { CURRENT_FORM } from './stream-digest'

/**
 * This device seals its replica's edits once they pause SEAL_IDLE_MS, and while they go on at least
 * every SEAL_MAX_MS, give or take SEAL_MAX_JITTER of it. Devices that began typing together would
 * otherwise all seal at the same moment, and each seal costs every peer a check (about 1 ms): in the
 * mesh bench's 16 peers, 16 seals at once queued the keystrokes of the next half second behind 240
 * checks (p99 of the second half 170-210 ms, against 34 ms with no seal in it).
 */
const SEAL_IDLE_MS = 1_000
const SEAL_MAX_MS = 10_000
const SEAL_MAX_JITTER = 0.25
/**
 * A seal asked for and not come is asked for again after this long (its author may have been away);
 * after the seal wait if shorter, so that a device is asked again before it is flagged as withholding.
 */
const SEAL_ASK_AGAIN_MS = 2_000
/** Seal requests remembered (to send one per replica); past this, forgotten (and asked again). */
const MAX_SEALS_ASKED = 4_096
/** Replicas of a document recorded at a clean close to take up again (more openings mint new ones). */
const MAX_RESUMED = 32
/**
 * A connected member asked for a seal of its edits that has not sent one this long is flagged as
 * withholding: an honest device seals within SEAL_MAX_MS (and its jitter) of typing and at once when asked.
 */
export const SEAL_WAIT_MS = 60_000

/** What the document's session does for DocProvenance. */
export interface ProvenanceHost {
  readonly docId: string
  readonly durable: DurableDoc
  /** This device's key (hex), and its signature. */
  readonly self: string
  readonly sign: Sign
  /** The claim of the replica the document was opened with (the node's own). */
  readonly claim: Seal
  /** Nonces of this device's replicas from the last clean close, to hand out again. */
  readonly resumable: readonly Uint8Array[]
  readonly replicasPerDevice?: number | undefined
  readonly sealWaitMs?: number | undefined
  /**
   * Whether replicas' stream hashes are kept with the document across restarts (Provenance's
   * `resumable`): not for a project's files, whose histories are short and whose join hashes 50 MB of
   * streams, natively four times as fast.
   */
  readonly keepStreamStates?: boolean
  /** Deleted text kept, times the document's length (text-retention.ts); none dropped without it. */
  readonly keepDeleted?: () => number
  log(message: string): void
  now(): number
  peers(): PeerSession[]
  /** Whether a device is or was a member (only members' replicas are bound). */
  isMember(device: string): boolean
  roleOf(device: string): Role | undefined
  /** Applies ops of a flagged device's replica that extend the version held (forks.ts). */
  extendVersion(batch: Uint8Array): Promise<void>
  /**
   * Rebuilds the text with `version` as the ops of `replica` (forks.ts); false (nothing changed) if
   * that would set one of this device's replicas back (DurableDoc.replaceVersion).
   */
  replaceVersion(replica: string, version: Uint8Array): Promise<boolean>
  /** Applies held ops a seal now vouches for, as if they came from `from`, and passes them on. */
  applyVouched(batch: Uint8Array, from: PeerSession, sentTo: readonly string[], catchUp: boolean): void
  broadcast(channel: Channel, batch: Uint8Array, except: PeerSession | null, sentTo?: readonly string[]): void
  /** Takes the document away from a peer that sent what no honest peer sends. */
  cutOff(session: PeerSession): void
  membersChanged(): void
  /** This device took counters of its own replica from another member's attestation (forks.ts). */
  tookTail(replica: string, range: Attested): void
  /** Something changed that the next anti-entropy round's `retrySeals` may have to act on. */
  sealRoundDue(): void
  error(err: Error): void
}

export class DocProvenance {
  /** Who wrote each text op: checked before any op of a peer is applied (provenance.ts). */
  private readonly provenance: Provenance
  /** Per peer, the highest seal counter sent to it, per replica. */
  private readonly sealsSent = new WeakMap<PeerSession, Map<string, number>>()
  /** The seals `sendSeals` encoded last, and their batch (see there). */
  private lastSeals: { readonly seals: readonly Seal[]; readonly batch: Uint8Array } | null = null
  /** This open's replica for merges of changes made on disk (takeDiskReplica), while it is free. */
  private disk: { readonly nonce: Uint8Array; readonly replica: string } | undefined
  /** Replicas that merges took (takeDiskReplica) and have not given back yet, with their nonces. */
  private readonly taken = new Map<string, Uint8Array>()
  /** Peers whose property writes or tree ops waited for a binding not known here yet (see askAgain). */
  private waitedFrom = new Set<PeerSession>()
  /** Replicas whose seal this node asked for and has not got yet (one request in flight each). */
  private readonly sealsAsked = new Map<string, { counter: number; at: number }>()
  /** This device's replicas with ops not sealed yet, and their idle timers. */
  private readonly sealTimers = new Map<string, { timer: ReturnType<typeof setTimeout>; due: number }>()
  /**
   * Replicas from the last clean close not handed out yet: windows take them from the front, merges
   * of changes on disk from the back (`resumable` lists them so).
   */
  private readonly resumePool: Uint8Array[]
  /** The nonces of the replicas handed to windows in this run and not given back, by replica. */
  private readonly handedOut = new Map<string, Uint8Array>()
  /** Replicas that windows of this run gave back (`releaseReplica`): the next windows take them up first. */
  private readonly released: Uint8Array[] = []
  /**
   * Per replica of another device, its oldest seal request not answered: the counter asked for and
   * since when; and the highest counter asked for since (asked next, once that one is answered).
   */
  private readonly unanswered = new Map<string, { counter: number; since: number; latest: number }>()
  /** Devices that left a seal request unanswered for sealWaitMs while connected. */
  private readonly withholding = new Set<string>()
  /** The versions of equivocators' replicas that peers agree on (forks.ts). */
  private readonly forks: Forks
  /** Equivocators whose replicas `forks` has settled. */
  private readonly forked = new Set<string>()

  constructor(private readonly host: ProvenanceHost) {
    const { durable } = host
    this.provenance = new Provenance({
      docId: durable.docId,
      self: fromHex(host.self),
      sign: host.sign,
      verify: memberCrypto.verify,
      text: () => durable.text,
      stored: durable.seals().flatMap((bytes) => {
        try {
          return decodeSeals(bytes)
        } catch {
          return [] // a damaged stored seal: the replica is sealed again, or its ops wait for one
        }
      }),
      isMember: (device) => host.isMember(device),
      now: () => host.now(),
      ...(host.replicasPerDevice ? { replicasPerDevice: host.replicasPerDevice } : {}),
      resumable: host.keepStreamStates === true,
      checkpoints: durable
        .checkpointRecords()
        .map(decodeCheckpoint)
        .filter((c): c is Checkpoint => c !== null),
    })
    this.provenance.adopt(host.claim)
    if (host.keepStreamStates === true) {
      durable.keepCheckpointsWith(() =>
        this.provenance.checkpoints().map((c) => [c.replica, encodeCheckpoint(c)] as const),
      )
    }
    // Deleted text is dropped only where a seal in the block form covers it: a peer far behind checks
    // those ops with the blocks' hashes in place of their text.
    if (host.keepDeleted) {
      durable.keepTextWith({
        multiple: host.keepDeleted,
        sealedUpTo: (replica) => {
          // This device's replicas are sealed now as far as their ops go: one whose last session
          // crashed before sealing would otherwise keep its tail's text for good (it is never taken up).
          if (this.provenance.isOwn(replica)) this.sealAndSend(replica)
          const seal = this.provenance.sealOf(replica)
          return seal?.form === CURRENT_FORM ? seal.counter : 0
        },
      })
    }
    this.forks = new Forks({
      docId: durable.docId,
      provenance: this.provenance,
      text: () => durable.text,
      log: (m) => host.log(m),
      peers: () => host.peers(),
      send: (to, batch) => to.sendUpdate(durable.docId, Channel.Versions, batch),
      cutOff: (s) => host.cutOff(s),
      extend: (batch) => host.extendVersion(batch),
      replace: (replica, version) => host.replaceVersion(replica, version),
      flagged: (device) => {
        this.forked.add(device)
        host.membersChanged()
      },
      self: fromHex(host.self),
      sign: host.sign,
      verify: memberCrypto.verify,
      now: () => host.now(),
      attestWaitMs: Math.min(ATTEST_WAIT_MS, host.sealWaitMs ?? SEAL_WAIT_MS),
      mayAttest: (device) => {
        const role = host.roleOf(device)
        return (role === 'owner' || role === 'editor') && !this.provenance.isFlagged(device)
      },
      sealOwn: (replica) => this.sealAndSend(replica),
      tookTail: (replica, range) => host.tookTail(replica, range),
      askSeal: (replica, counter) => {
        for (const s of host.peers()) s.sendSealRequest(durable.docId, replica, counter)
      },
      storedAttested: durable.attestedRecords(),
      storeAttested: (replica, record) =>
        void durable.storeAttested(replica, record).catch((err: unknown) => host.error(err as Error)),
    })
    this.resumePool = [...host.resumable]
    durable.signPropsWith(propSigner(durable.docId, host.sign))
    durable.signTreeWith(treeSigner(durable.docId, host.sign))
  }

  /** The device a replica is bound to, if known. */
  deviceOf(replica: string): string | undefined {
    return this.provenance.deviceOf(replica)
  }

  /** Whether a replica is this device's (its edits may come from this node's UI). */
  isOwn(replica: string): boolean {
    return this.provenance.isOwn(replica)
  }

  /** Devices caught sealing two different histories of their edits. */
  equivocators(): string[] {
    return this.provenance.equivocators()
  }

  /**
   * Connected members that leave seal requests for their edits unanswered: their edits (and what
   * others type against them) reach only the peers they send them to. Cleared once they seal.
   */
  withholders(): string[] {
    return [...this.withholding]
  }

  /**
   * Ops applied: a seal that came ahead of them can be checked now (its senders pass it on, not us),
   * and is kept with the document, as a seal checked on arrival is: after a restart this node still
   * vouches for the ops it passes on, whose author may be away.
   */
  settle(): void {
    for (const seal of this.provenance.settle()) this.keepSeal(seal)
    this.settleForks()
  }

  /** Stores a peer's seal checked here (written with the next write: its author and relays hold it). */
  private keepSeal(seal: Seal): void {
    this.storeSeal(seal, true).catch((err: unknown) => this.host.error(err as Error))
  }

  /** The counters of a replica that stand in on another member's attestation, and whose (forks.ts). */
  attestedOf(replica: string): Attested | undefined {
    return this.forks.attestedOf(replica)
  }

  /** Attested versions from peers waiting out their time before they are taken (forks.ts). */
  attestationsWaiting(): number {
    return this.forks.waitingCount()
  }

  /** Versions of an equivocator's replicas from a peer (forks.ts). */
  receiveVersions(batch: Uint8Array, from: PeerSession): Promise<void> {
    return this.forks.receive(batch, from)
  }

  /** A peer is ready for this document (connected, or anti-entropy came round): versions it lacks. */
  offerVersions(to: PeerSession): void {
    this.forks.offerTo(to)
  }

  /**
   * Devices flagged here since the last call: their replicas are settled, and peers offered them. And
   * replicas whose unsealed ops a seal disagreed with: they give way to it.
   */
  private settleForks(): void {
    for (const seal of this.provenance.takeConflicts()) void this.forks.giveWay(seal)
    for (const device of this.provenance.equivocators()) {
      if (this.forked.has(device)) continue
      this.forked.add(device)
      void this.forks.flaggedHere(device)
    }
  }

  /**
   * Stores a replica's claim (with its first edit, or when a window opens the document to edit it), so
   * that after a restart this device can still seal it: written, then durable (both at once if the
   * replica has none here).
   */
  stageClaim(replica: string): Stages {
    const claim = this.provenance.sealOf(replica)
    if (!claim) return { written: Promise.resolve(), durable: Promise.resolve() }
    return this.host.durable.stageSeal(claim.replica, encodeSeals([claim]))
  }

  /** The member list changed: claims of devices that were not members yet are bound now. */
  membersChanged(): void {
    const bound = this.provenance.retryClaims()
    for (const replica of bound) this.releaseHeld(replica)
    if (bound.length > 0) this.askAgain()
  }

  /**
   * Property writes and tree ops of replicas not bound here yet are dropped and come back with
   * anti-entropy; once bindings arrive (a member list, a claim), the peers they came from are asked
   * at once instead (a joiner gets the member list and those writes in any order).
   */
  private askAgain(): void {
    const waited = this.waitedFrom
    this.waitedFrom = new Set()
    for (const s of this.host.peers()) if (waited.has(s)) s.resync(this.host.docId)
  }

  /** The seals to send ahead of a batch of `channel` (text or properties) from `from` (null: ours). */
  sealsAhead(channel: Channel, batch: Uint8Array, from: PeerSession | null): Seal[] {
    if (channel === Channel.Text) return this.sealsToPassOn(batch, from)
    if (channel === Channel.Props) return this.propSeals(decodePropWrites(batch))
    if (channel === Channel.Tree) return this.claimsOf(decodeTreePart(batch).flat())
    return []
  }

  /**
   * Seals for the text a peer at `v` lacks (one per replica it will receive ops of), in batches: sent
   * before those ops, so the peer can check every op, whoever wrote it. Sent even if sent to the peer
   * before: a peer drops what comes for a document it does not have open (a project's file it has not
   * opened yet, during a join), and it asked for this reply with the document open. Without them, a
   * property write whose writer's claim it dropped would wait for ever.
   */
  sealsFor(v: DocVersions, to: PeerSession, props: Uint8Array, tree: Uint8Array): Uint8Array[] {
    const seals: Seal[] = []
    const ours = this.host.durable.text.version()
    for (const replica in ours) {
      if (ours[replica]! <= (v[0][replica] ?? 0)) continue
      const seal = this.latestSeal(replica)
      if (seal) seals.push(seal)
    }
    if (!isEmptyBatch(props)) seals.push(...this.propSeals(decodePropWrites(props)))
    if (!isEmptyBatch(tree)) seals.push(...this.claimsOf(decodeTreePart(tree).flat()))
    const latest = new Map<string, Seal>()
    for (const seal of seals) {
      if (seal.counter >= (latest.get(seal.replica)?.counter ?? -1)) latest.set(seal.replica, seal)
    }
    const needed = [...latest.values()]
    this.notSentYet(to, needed) // noted: the updates that follow the reply need not send them again
    const out: Uint8Array[] = []
    for (let i = 0; i < needed.length; i += MAX_SEALS_PER_BATCH) {
      out.push(encodeSeals(needed.slice(i, i + MAX_SEALS_PER_BATCH)))
    }
    return out
  }

  /**
   * A peer's text batch, checked op by op against who wrote it: the ops of a replica bound to the
   * sender's device are taken; the ops of any other replica wait for their author's seal (held), and a
   * flagged device's are dropped. Returns the batch to apply now (the same one when all is taken), or
   * null. Throws CrdtDecodeError for a batch whose replica table is malformed, or whose ops are when
   * some are not taken. A batch is decoded once: one whose every replica is taken is decoded as it is
   * applied (a join's 50 MB of text was decoded here and then again by the apply); one whose ops had to
   * be looked at comes back with them, for the apply (a keystroke's batch names the replica of the
   * character it follows, and each was decoded twice).
   */
  admitText(
    batch: Uint8Array,
    from: PeerSession,
    sentTo: readonly string[],
    catchUp: boolean,
  ): { readonly batch: Uint8Array; readonly decoded?: DecodedOps } | null {
    const table = decodeTextBatchReplicas(batch)
    const verdicts = table.map((replica) =>
      this.provenance.admit(replica, from.remoteKey, () => this.takesUnclaimed(replica, from)),
    )
    // Every op names a replica of the table: if all of them are taken, so is every op.
    if (verdicts.every((verdict) => verdict === 'take')) return { batch }
    const decoded = decodeTextOps(batch)
    const { replicas, ops, dropped } = decoded
    if (ops.every((op) => verdicts[op.agent] === 'take')) return { batch, decoded }
    // Each part names the dropped blocks of its own inserts (text-codec.ts, kind 10).
    const encode = (part: TextOp[]): Uint8Array =>
      encodeTextOps(
        replicas,
        part,
        undefined,
        true,
        undefined,
        dropped && droppedFor(replicas, part, dropped),
      )
    const take: TextOp[] = []
    const held = new Map<number, TextOp[]>()
    for (const op of ops) {
      const verdict = verdicts[op.agent]
      if (verdict === 'take') take.push(op)
      else if (verdict === 'hold') {
        const list = held.get(op.agent) ?? []
        list.push(op)
        held.set(op.agent, list)
      }
    }
    for (const [agent, list] of held) {
      const replica = replicas[agent]!
      const seen = this.host.durable.text.seenOf(replica)
      const fresh = list.filter((op) => op.counter + op.length - 1 > seen)
      if (fresh.length === 0) continue // all applied already: a duplicate
      const first = fresh[0]!.counter
      const last = Math.max(...fresh.map((op) => op.counter + op.length - 1))
      const kept = this.provenance.hold({
        replica,
        batch: encode(fresh),
        first,
        last,
        from,
        sentTo,
        catchUp,
      })
      if (!kept)
        this.host.log(
          `ops of ${replica} held for a seal in ${this.host.docId.slice(0, 8)}: limit reached, dropped`,
        )
      else {
        // Ops past what a seal held here covers (all, or the latest of them) need a newer one.
        this.releaseHeld(replica)
        const waiting = this.provenance.heldLast(replica)
        if (waiting > 0) this.askSeal(replica, waiting, from)
      }
    }
    return take.length > 0 ? { batch: encode(take) } : null
  }

  /**
   * A peer's property writes, each checked against its author's signature (signed-props.ts). Returns
   * the batch of the writes to apply now, or null. Writes whose author is not known here yet wait for
   * anti-entropy; a forged one cuts the sender off the document. Throws CrdtDecodeError if malformed.
   */
  admitProps(batch: Uint8Array, from: PeerSession, decoded?: DecodedMapBatch): Uint8Array | null {
    const seen = this.host.durable.props.version()
    const fresh = decodePropWrites(decoded ?? batch).filter((w) => w.counter > (seen[w.replica] ?? 0))
    const { take, wait, forged } = checkPropWrites(fresh, {
      docId: this.host.docId,
      deviceOf: (replica) => this.provenance.deviceOf(replica),
      isFlagged: (device) => this.provenance.isFlagged(device),
      takesUnclaimed: (replica) => this.takesUnclaimed(replica, from),
      verify: memberCrypto.verify,
    })
    if (forged.length > 0) {
      this.host.log(
        `forged property writes for ${this.host.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ` +
          `"${truncateString(forged[0]!.key, 40)}" of ${forged[0]!.replica}`,
      )
      this.host.cutOff(from)
      return null
    }
    if (wait.length > 0) this.waitedFrom.add(from)
    if (take.length === 0) return null
    return take.length === fresh.length ? batch : encodePropWrites(take) // (duplicates in it are ignored)
  }

  /**
   * A peer's tree ops (tree-part.ts), sorted as property writes are (signed-tree.ts): forged ones cut
   * their sender off; ops whose author is not known yet wait for anti-entropy. Returns the batch to
   * apply, or null if nothing in it is to be applied now.
   */
  admitTree(
    batch: Uint8Array,
    from: PeerSession,
    decoded?: readonly (readonly TreeOp[])[],
  ): Uint8Array | null {
    const seen = this.host.durable.tree.version()
    const fresh = (decoded ?? decodeTreePart(batch))
      .flat()
      .filter((op) => op.counter > (seen[op.replica] ?? 0))
    const { take, wait, forged } = checkTreeOps(fresh, {
      docId: this.host.docId,
      deviceOf: (replica) => this.provenance.deviceOf(replica),
      isFlagged: (device) => this.provenance.isFlagged(device),
      verify: memberCrypto.verify,
    })
    if (forged.length > 0) {
      this.host.log(
        `forged tree ops for ${this.host.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ` +
          `${forged.length}, the first of ${forged[0]!.replica}`,
      )
      this.host.cutOff(from)
      return null
    }
    if (wait.length > 0) this.waitedFrom.add(from)
    if (take.length === 0) return null
    return take.length === fresh.length ? batch : encodeTreePart(take)
  }

  /**
   * Ops of a replica whose claim is unknown: replica IDs from before devices were bound to them, in a
   * document from then; taken from an owner only (the history it holds), held otherwise.
   */
  private takesUnclaimed(replica: string, from: PeerSession): boolean {
    return (
      !isDerivedForm(replica) &&
      this.host.durable.legacyMembers.opCount() > 0 &&
      this.host.roleOf(from.remoteKey) === 'owner'
    )
  }

  /** Applies the held ops of a replica that its author's seal now covers. Returns whether any were. */
  private releaseHeld(replica: string): boolean {
    const ready = this.provenance.release(replica)
    for (const r of ready) {
      this.host.applyVouched(r.batch, r.from as PeerSession, r.sentTo, r.catchUp)
    }
    if (ready.length > 0) {
      this.sealsAsked.delete(replica)
      this.keepSeal(this.provenance.sealOf(replica)!) // the seal that vouched for them
    }
    this.settleForks() // a held op that failed its seal may have caught an equivocation
    return ready.length > 0
  }

  /** Seals from a peer: checked, stored and passed on if news; they may release held ops. */
  async receiveSeals(batch: Uint8Array, from: PeerSession, sentTo: readonly string[]): Promise<void> {
    let result: ReturnType<Provenance['receive']>
    try {
      const seals = decodeSeals(batch)
      result = this.provenance.receive(seals)
      this.answered(seals) // signed by their authors (receive checked): requests they cover are answered
      this.notSentYet(from, seals) // the sender has them: never sent back
    } catch (err) {
      if (!(err instanceof CrdtDecodeError)) throw err
      this.host.log(
        `malformed seals for ${this.host.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ${err.message}`,
      )
      this.host.cutOff(from)
      return
    }
    for (const device of new Set(result.evidence.map((seal) => toHex(seal.device)))) {
      this.host.log(
        `device ${device.slice(0, 8)} sealed two different histories of its edits to ${this.host.docId.slice(0, 8)}: flagged`,
      )
    }
    if (result.evidence.length > 0) {
      this.host.broadcast(Channel.Seals, encodeSeals(result.evidence), from, sentTo)
      this.host.membersChanged()
    }
    this.settleForks()
    for (const replica of result.release) this.releaseHeld(replica)
    if (result.news.length === 0) return
    if (this.waitedFrom.size > 0) this.askAgain() // a claim may bind what waited
    for (const seal of result.news) this.sealsAsked.delete(seal.replica)
    this.host.broadcast(Channel.Seals, encodeSeals(result.news), from, sentTo)
    await Promise.all(result.news.map((seal) => this.storeSeal(seal, true))).catch((err: unknown) =>
      this.host.error(err as Error),
    )
  }

  /**
   * Asks for a seal of `replica` up to `counter`: of the peer the ops came from (it holds one, or asks
   * the author), and of the author itself when connected. One request in flight per replica.
   */
  private askSeal(replica: string, counter: number, from: PeerSession | null): void {
    const now = this.host.now()
    const author = this.provenance.deviceOf(replica)
    this.noteUnanswered(replica, counter, author, now)
    const asked = this.sealsAsked.get(replica)
    const again = Math.min(SEAL_ASK_AGAIN_MS, this.host.sealWaitMs ?? SEAL_WAIT_MS)
    if (asked && asked.counter >= counter && now - asked.at < again) return
    if (this.sealsAsked.size >= MAX_SEALS_ASKED) this.sealsAsked.clear() // a flood of made-up replicas
    this.sealsAsked.set(replica, { counter, at: now })
    for (const s of this.host.peers()) {
      if (s === from || s.remoteKey === author) s.sendSealRequest(this.host.docId, replica, counter)
    }
  }

  /**
   * Counts how long the author of `replica` has left a seal request up to `counter` unanswered while
   * connected (time it is away does not count), and flags it once that passes sealWaitMs.
   */
  private noteUnanswered(replica: string, counter: number, author: string | undefined, now: number): void {
    if (author === undefined || author === this.host.self) return
    if (this.unanswered.size >= MAX_SEALS_ASKED) this.unanswered.clear() // a flood of made-up replicas
    const pending = this.unanswered.get(replica)
    const connected = this.host.peers().some((s) => s.remoteKey === author)
    if (!pending || !connected) {
      const latest = Math.max(counter, pending?.latest ?? 0)
      this.unanswered.set(replica, { counter: latest, since: now, latest })
      return
    }
    // A device that keeps typing is asked again and again: only the oldest request is timed.
    pending.latest = Math.max(pending.latest, counter)
    if (now - pending.since < (this.host.sealWaitMs ?? SEAL_WAIT_MS) || this.withholding.has(author)) return
    this.withholding.add(author)
    this.host.log(
      `device ${author.slice(0, 8)} has not sealed its edits to ${this.host.docId.slice(0, 8)} when asked: flagged as withholding`,
    )
    this.host.membersChanged()
    void this.forks.attest(author)
  }

  /**
   * Seals that came: the requests they cover are answered (later ones are timed from now), and a
   * device that seals is no longer withholding.
   */
  private answered(seals: readonly Seal[]): void {
    for (const seal of seals) {
      const pending = this.unanswered.get(seal.replica)
      if (!pending || seal.counter < pending.counter) continue
      if (seal.counter >= pending.latest) this.unanswered.delete(seal.replica)
      else {
        pending.counter = pending.latest
        pending.since = this.host.now()
      }
      const device = toHex(seal.device)
      if (this.withholding.delete(device)) this.host.membersChanged()
    }
  }

  /**
   * Anti-entropy for seals: asks again for those that held or passed-on ops wait for (their author may
   * be back). Returns whether a later round may still have something to do without anything happening
   * to the document meanwhile: ops held or seals unanswered (they are timed), a withholding or
   * equivocating device, versions offered, waiting or under way (forks.ts). False once a round found
   * nothing to do: then only a change (a message, an edit, a peer: DocSession.sealRoundDue) makes the
   * next one worth running, and a node idle on 2,000 files walks none of them.
   */
  retrySeals(): boolean {
    const peers = new Set(this.host.peers())
    // What a withholding device sent since it was flagged is attested too; attested versions that
    // waited long enough are taken.
    for (const device of this.withholding) void this.forks.attest(device)
    this.forks.tick()
    let offered = 0
    for (const peer of peers) offered += this.forks.offerTo(peer)
    const held = this.provenance.heldReplicas()
    for (const { replica, last, from } of held) {
      this.askSeal(replica, last, peers.has(from as PeerSession) ? (from as PeerSession) : null)
    }
    // Seals asked of their authors for ops taken from them and passed on: asked again (and timed).
    const holding = new Set(held.map((h) => h.replica))
    for (const [replica, { counter }] of [...this.unanswered]) {
      if (!holding.has(replica)) this.askSeal(replica, counter, null)
    }
    return (
      offered > 0 ||
      held.length > 0 ||
      this.unanswered.size > 0 ||
      this.withholding.size > 0 ||
      this.provenance.equivocators().length > 0 ||
      !this.forks.quiet()
    )
  }

  /**
   * A peer asks for a seal of `replica` up to `counter`: this device's own replica is sealed now; a
   * seal held here that covers it is sent; otherwise the request goes on to the author, if connected.
   */
  onSealRequest(from: PeerSession, replica: string, counter: number): void {
    const seal = this.latestSeal(replica)
    // This device's own seal goes even if it covers less: it shows an attested version past it false.
    if (seal && (seal.counter >= counter || this.provenance.isOwn(replica))) {
      // Asked for: sent even if sent before (the peer may not have had the ops it covers then).
      this.notSentYet(from, [seal])
      from.sendUpdate(this.host.docId, Channel.Seals, encodeSeals([seal]))
      return
    }
    const author = this.provenance.deviceOf(replica)
    if (author !== undefined && author !== from.remoteKey) this.askSeal(replica, counter, null)
  }

  /** The latest seal of a replica: this device's own sealed now, another's as held here. */
  private latestSeal(replica: string): Seal | null | undefined {
    return this.provenance.isOwn(replica) ? this.sealOwn(replica) : this.provenance.sealOf(replica)
  }

  /** A fresh seal of this device's replica (stored in the background when new). */
  private sealOwn(replica: string): Seal | null {
    const before = this.provenance.sealOf(replica)
    const seal = this.provenance.sealOwn(replica)
    if (seal && seal !== before) {
      this.storeSeal(seal).catch((err: unknown) => this.host.error(err as Error))
      this.host.sealRoundDue() // peers are offered it as a version (forks.ts)
    }
    return seal
  }

  /** `fromPeer`: a seal this node received, not one it made (DurableDoc.storeSeal). */
  private storeSeal(seal: Seal, fromPeer = false): Promise<void> {
    return this.host.durable.storeSeal(seal.replica, encodeSeals([seal]), fromPeer)
  }

  /**
   * Sends a peer the seals it has not had yet (a claim at least) of the replicas whose ops follow,
   * listing the devices the ops go to (so that none of them passes the seals on to another).
   */
  sendSeals(to: PeerSession, seals: readonly Seal[], sentTo: readonly string[]): void {
    const fresh = this.notSentYet(to, seals)
    if (fresh.length === 0) return
    // A broadcast usually sends every peer the same seals: one batch for all, so its frame is encoded once.
    const last = this.lastSeals
    const same =
      last && last.seals.length === fresh.length && last.seals.every((seal, i) => seal === fresh[i])
    const batch = same ? last.batch : encodeSeals(fresh)
    if (!same) this.lastSeals = { seals: fresh, batch }
    to.sendUpdate(this.host.docId, Channel.Seals, batch, sentTo)
  }

  /** The seals newer than what `to` was sent, noted as sent. */
  notSentYet(to: PeerSession, seals: readonly Seal[]): Seal[] {
    let sent = this.sealsSent.get(to)
    if (!sent) this.sealsSent.set(to, (sent = new Map()))
    const fresh = seals.filter((seal) => seal.counter > (sent.get(seal.replica) ?? -1))
    for (const seal of fresh) sent.set(seal.replica, seal.counter)
    return fresh
  }

  /** After an edit of this device's replica: seal it once edits pause (or every SEAL_MAX_MS while they go on). */
  edited(replica: string): void {
    const now = this.host.now()
    const pending = this.sealTimers.get(replica)
    if (pending) clearTimeout(pending.timer)
    // The latest this run of edits is sealed: SEAL_MAX_MS after its first, give or take the jitter.
    const due = pending?.due ?? now + SEAL_MAX_MS * (1 + SEAL_MAX_JITTER * (2 * Math.random() - 1))
    const wait = Math.max(0, Math.min(SEAL_IDLE_MS, due - now))
    const timer = setTimeout(() => {
      this.sealTimers.delete(replica)
      this.sealAndSend(replica)
    }, wait)
    timer.unref?.()
    this.sealTimers.set(replica, { timer, due })
  }

  /** Whether an edit of this device waits for a pause in typing to be sealed (`edited`). */
  sealsWaiting(): boolean {
    return this.sealTimers.size > 0
  }

  /**
   * Seals now what waits for a pause in typing, and sends it: the node is about to close, and a peer
   * that holds these edits for a seal (or passes them on) would otherwise wait for this device's return.
   */
  sealPending(): void {
    for (const [replica, { timer }] of this.sealTimers) {
      clearTimeout(timer)
      this.sealAndSend(replica)
    }
    this.sealTimers.clear()
  }

  /**
   * Seals `replica` now rather than once edits pause, for a batch that is whole (a merge from disk):
   * the seal is stored in the write and fsync of what was staged before it in this turn, its ops
   * among them, not in one of its own a pause later. Sent by `sendSeal` once those ops have gone.
   */
  sealNow(replica: string): Seal | null {
    const pending = this.sealTimers.get(replica)
    if (pending) clearTimeout(pending.timer)
    this.sealTimers.delete(replica)
    return this.sealOwn(replica)
  }

  sendSeal(seal: Seal): void {
    this.host.broadcast(Channel.Seals, encodeSeals([seal]), null)
  }

  private sealAndSend(replica: string): void {
    const before = this.provenance.sealOf(replica)
    const seal = this.sealOwn(replica)
    if (seal && seal !== before) this.host.broadcast(Channel.Seals, encodeSeals([seal]), null)
  }

  /**
   * A replica of this device for the UI's editor, bound to this device's key, stored when the window
   * prepares to edit (DocSession.prepareToEdit) or with its first edit: one from the last clean close
   * or given back by a closed window if any is left (never one a window still holds), else new.
   */
  mintReplica(): string {
    const nonce = this.released.pop() ?? this.resumePool.shift() ?? new Uint8Array(randomBytes(NONCE_BYTES))
    const replica = this.provenance.mint(nonce)
    this.handedOut.set(replica, nonce)
    return replica
  }

  /**
   * A window that held `replica` is gone, and nothing more can come from it (its connection closed):
   * the next window takes the replica up, counters continuing from the ops of it applied here, as a
   * start takes up the last run's. Otherwise every window opened, and every reload of a browser tab,
   * added a replica that each version vector and sync request of the document carries for good.
   */
  releaseReplica(replica: string): void {
    const nonce = this.handedOut.get(replica)
    if (!nonce) return
    this.handedOut.delete(replica)
    this.released.push(nonce)
  }

  /**
   * This run's replicas for the next start to take up again (the node's first), at most MAX_RESUMED.
   * Only called once the document closed cleanly (Workspace.close).
   */
  resumable(): Uint8Array[] {
    const windows = [...this.handedOut.values(), ...this.released]
    return [this.host.claim.nonce, ...windows, ...this.freeDisk(), ...this.resumePool].slice(0, MAX_RESUMED)
  }

  /**
   * The replicas to take up again when the document opens later in this run, once closed cleanly: the
   * node's own, those windows gave back and those left from the last start, not those handed to
   * windows still open (a window's editor may still hold its replica after it let the document go).
   */
  reusable(): Uint8Array[] {
    return [this.host.claim.nonce, ...this.released, ...this.freeDisk(), ...this.resumePool]
  }

  /** The disk merges' replica, if no merge holds it (one in the middle of a merge is not taken up). */
  private freeDisk(): Uint8Array[] {
    return this.disk ? [this.disk.nonce] : []
  }

  /**
   * A replica of this device for merging a change made on disk (disk-merge.ts): the one the last merge
   * used if `fits(it)` (every op of it is in the merge's base, so that its new ops follow its old
   * ones), else a new one. So a file that another program saves again and again adds one replica to
   * its document, not one per save: each replica is a claim to sign, store and check, an entry in every
   * version vector, and past MAX_REPLICAS_PER_DEVICE peers refuse a device's new ones (and so the ops
   * of a merge). Taken until given back (`diskMerged`): two merges at once never make ops of one
   * replica from two bases.
   *
   * Its binding goes into the log with its first ops, as every replica's does (DocSession.registerAuthor),
   * unless `bindNow`: then it is durable before this resolves, for a caller that names the replica
   * outside the document before its ops are stored (a linked file's merge base: a merge cut short by
   * a crash applies its ops at the next start, as this device's).
   */
  async takeDiskReplica(fits: (replica: string) => boolean, bindNow: boolean): Promise<string> {
    // This open's (bound already), or one left from the last clean close (every op of it is in the store).
    const own = this.disk
    this.disk = undefined
    const resumed = own ? undefined : this.resumePool.pop()
    const nonce = own?.nonce ?? resumed
    let replica = own?.replica ?? (resumed && this.provenance.mint(resumed))
    if (!nonce || !replica || !fits(replica)) {
      const fresh = new Uint8Array(randomBytes(NONCE_BYTES))
      replica = this.provenance.mint(fresh)
      this.taken.set(replica, fresh)
    } else this.taken.set(replica, nonce)
    if (bindNow && replica !== own?.replica) await this.storeSeal(this.provenance.sealOf(replica)!)
    return replica
  }

  /** A merge applied its ops of `replica` (from takeDiskReplica): the next merge may take it up. */
  diskMerged(replica: string): void {
    const nonce = this.taken.get(replica)
    this.taken.delete(replica)
    if (nonce) this.disk = { nonce, replica }
  }

  /**
   * The seals to send ahead of a text batch: those of its replicas (a claim at least, so a peer can tell
   * whose they are). Relaying ops straight from their author beyond its latest seal, this node asks the
   * author for a new one: the peers it relays to hold those ops until it comes.
   */
  private sealsToPassOn(batch: Uint8Array, from: PeerSession | null): Seal[] {
    const seals: Seal[] = []
    const { replicas, ops } = decodeTextOps(batch)
    const authors = new Set(ops.map((op) => replicas[op.agent]!))
    for (const replica of authors) {
      const seal = this.provenance.sealOf(replica)
      if (!seal) continue
      seals.push(seal)
      const seen = this.host.durable.text.seenOf(replica)
      if (from && seal.counter < seen && this.provenance.deviceOf(replica) === from.remoteKey) {
        this.askSeal(replica, seen, from)
      }
    }
    return seals
  }

  /** The claims (or latest seals held) of the replicas that made tree ops: they carry signatures. */
  private claimsOf(ops: readonly TreeOp[]): Seal[] {
    return this.claims(ops.map((op) => op.replica))
  }

  /**
   * The seals that let a peer check property writes: the claims (or the latest seals held) of the
   * replicas that wrote them, and of the replicas an author record names.
   */
  private propSeals(writes: readonly PropWrite[]): Seal[] {
    const replicas: string[] = []
    for (const w of writes) {
      replicas.push(w.replica)
      if (w.key.startsWith(AUTHOR_PREFIX)) replicas.push(w.key.slice(AUTHOR_PREFIX.length))
    }
    return this.claims(replicas)
  }

  /** Each replica's claim or latest seal held, once: a claim is enough for signed writes and ops. */
  private claims(replicas: readonly string[]): Seal[] {
    const seals: Seal[] = []
    for (const replica of new Set(replicas)) {
      const seal = this.provenance.sealOf(replica)
      if (seal) seals.push(seal)
    }
    return seals
  }
}
