/**
 * Provenance: who wrote each text op of one document, checked before the op is applied
 * (docs/PROTOCOL.md, "Edits bound to their author").
 *
 * Every replica is bound to a device (replica-seal.ts). A batch's ops are taken as they come only
 * from the device their replica is bound to, over its own authenticated connection. Ops of any other
 * replica (relayed, or in a sync reply) are held here until a seal of their author covers them: the
 * digest of the author's stream up to the seal's counter, over the ops this node holds plus the held
 * ones, must equal what the author signed. So no peer can make others apply ops in another device's
 * name, or take another replica's counters, whatever path the ops come by.
 *
 * A device that signs a seal that disagrees with ops this node took from it, or with its own earlier
 * seal, equivocated: it is flagged, and nothing more of it is taken.
 *
 * Bounds: replicas per device (MAX_REPLICAS_PER_DEVICE), held ops (MAX_HELD_BYTES, MAX_HELD_ENTRIES,
 * HELD_TTL_MS); digests are kept per replica and extended, so sealing and checking cost what is new,
 * and for a document with a long history they are kept with it across restarts (Checkpoint), so that
 * a session's first seal does not hash the stream from its first op, which reads the whole history.
 */
import { randomBytes } from 'node:crypto'
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import type { TextOp } from '../../shared/crdt/ops'
import { CrdtDecodeError } from '../../shared/crdt/types'
import { BLOCK_COUNTERS, blockOf } from '../../shared/crdt/op-stream'
import { decodeTextOps, droppedFor, encodeTextOps } from '../../shared/crdt/text-codec'
import type { Sign } from '../../shared/members/member-op'
import { toHex } from '../../shared/sync/hex'
import { EMPTY_DIGEST, makeSeal, NONCE_BYTES, sealPayload, type Seal } from './replica-seal'
import {
  copyDigest,
  CURRENT_FORM,
  digestValue,
  extend,
  freshDigest,
  loadDigest,
  saveDigest,
  type DroppedBlocks,
  type SealForm,
  type StreamDigest,
} from './stream-digest'

/**
 * A device may bind this many replicas of one document. Each opening of a document that edits takes
 * one (the node's, or a window's), though a clean close hands them to the next start again
 * (DocSecrets.resume), so they grow only with starts after a crash: years of daily use.
 */
export const MAX_REPLICAS_PER_DEVICE = 16_384
/** Ops held for a seal, per document. Past these, newer ones are dropped (anti-entropy asks again). */
export const MAX_HELD_BYTES = 8 << 20
export const MAX_HELD_ENTRIES = 16_384
export const HELD_TTL_MS = 120_000
/** Seals kept that are ahead of the ops held here (one per replica). */
const MAX_AHEAD = 1024
/** Claims kept aside for devices not yet known as members (their member op may be on its way). */
const MAX_UNKNOWN_CLAIMS = 256

/** What provenance reads of the text replica. */
export interface TextReader {
  seenOf(replica: string): number
  opsOf(replica: string, after: number): { ids: readonly string[]; agent: number; ops: TextOp[] }
  /** `opsOf`, or null if that would read the stored history (checkpoints are not taken further then). */
  recentOpsOf?(
    replica: string,
    after: number,
  ): { ids: readonly string[]; agent: number; ops: TextOp[] } | null
  /** The blocks of a replica whose text was dropped here, with their hashes (stream-digest.ts). */
  droppedOf?(replica: string): DroppedBlocks | undefined
}

export interface ProvenanceDeps {
  readonly docId: string
  /** This device's public key. */
  readonly self: Uint8Array
  readonly sign: Sign
  readonly verify: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean
  readonly text: () => TextReader
  /** Seals stored with the document (the latest per replica), as loaded. */
  readonly stored: readonly Seal[]
  /** Whether a device (hex) is or was a member of the document: only members' replicas are bound. */
  readonly isMember: (device: string) => boolean
  /** Replicas one device may bind (default MAX_REPLICAS_PER_DEVICE). */
  readonly replicasPerDevice?: number
  readonly now?: () => number
  /**
   * Streams are hashed in a form whose state can be kept across a restart (`checkpoints`): for a
   * document whose history is long, so that its next session does not hash them from the first op.
   */
  readonly resumable?: boolean
  /** Stream states kept at the last close (`checkpoints`), as stored; each is checked against its seal. */
  readonly checkpoints?: readonly Checkpoint[]
}

/**
 * A replica's stream hashed up to a counter: kept with the document, so that the next session's seals
 * and checks hash only the ops since, not the whole stream (which reads the whole stored history).
 */
export interface Checkpoint {
  readonly replica: string
  readonly counter: number
  /** The stream cursor's `lastRight` there (op-stream.ts). */
  readonly lastRight: string | null
  /** The form-2 digest state (stream-digest.ts, `saveDigest`). */
  readonly state: Uint8Array
  /**
   * Taken past its replica's latest seal (ops that came from its device since, not sealed yet): that
   * seal, which the same stream gave up to its counter. Null if `counter` is not past it.
   */
  readonly sealed: { readonly counter: number; readonly digest: Uint8Array } | null
}

const CHECKPOINT_VERSION = 3

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const w = new ByteWriter(64 + c.state.length)
  w.byte(CHECKPOINT_VERSION)
  w.string(c.replica)
  w.uint(c.counter)
  w.byte(c.lastRight === null ? 0 : 1)
  if (c.lastRight !== null) w.string(c.lastRight)
  w.uint(c.state.length)
  w.bytes(c.state)
  w.uint(c.sealed?.counter ?? 0)
  if (c.sealed) w.bytes(c.sealed.digest)
  return w.finish()
}

/** A stored checkpoint; null if it is not one this version reads (it is then ignored). */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint | null {
  try {
    const r = new ByteReader(bytes)
    if (r.byte() !== CHECKPOINT_VERSION) return null
    const replica = r.string()
    const counter = r.uint()
    const lastRight = r.byte() === 1 ? r.string() : null
    const state = r.bytes(r.uint()).slice()
    const sealedAt = r.uint()
    const sealed = sealedAt === 0 ? null : { counter: sealedAt, digest: r.bytes(32).slice() }
    return { replica, counter, lastRight, state, sealed }
  } catch {
    return null
  }
}

/** Ops of one replica held until a seal covers them, with where they came from (to pass them on). */
export interface Held {
  readonly replica: string
  readonly batch: Uint8Array
  readonly first: number
  readonly last: number
  readonly from: unknown
  readonly sentTo: readonly string[]
  readonly catchUp: boolean
  readonly at: number
}

/** Held ops a seal now vouches for, to apply (and pass on as if they came from `from`). */
export interface Released {
  readonly batch: Uint8Array
  readonly from: unknown
  readonly sentTo: readonly string[]
  readonly catchUp: boolean
}

/** The verdict on one replica's ops in a batch from a peer. */
export type Admission = 'take' | 'hold' | 'drop'

interface Digest extends StreamDigest {
  /** Taken up from a checkpoint behind this seal: used only once it gives the seal's digest (stateAt). */
  check?: Seal | undefined
}

/**
 * The digest of a replica's stream up to `counter`, from scratch (for tests and one-off checks); null
 * if the ops do not reach it, or it ends inside a block whose text was dropped (that text is gone).
 */
export function streamDigest(
  text: TextReader,
  replica: string,
  counter: number,
  form: SealForm = CURRENT_FORM,
): Uint8Array | null {
  const { ids, agent, ops } = text.opsOf(replica, 0)
  const dropped = text.droppedOf?.(replica)
  if (endsInDropped(counter, dropped)) return null
  const d = freshDigest(form, false)
  if (!extend(d, ids, ops, agent, counter, dropped)) return null
  return digestValue(d)
}

/** Where a replica's digest in a form is kept: the current form under the replica's ID. */
const digestKey = (replica: string, form: SealForm): string =>
  form === CURRENT_FORM ? replica : `1|${replica}`

export class Provenance {
  private readonly selfHex: string
  /** Replica → device (hex), for every replica whose claim this node has checked. */
  private readonly bound = new Map<string, string>()
  private readonly perDevice = new Map<string, number>()
  /** The latest seal checked against the ops held here, per replica (counter 0: a claim). */
  private readonly best = new Map<string, Seal>()
  /** A signed seal ahead of the ops held here, per replica: checked once the ops arrive. */
  private readonly ahead = new Map<string, Seal>()
  /** This device's replicas and their nonces. */
  private readonly own = new Map<string, Uint8Array>()
  private readonly digests = new Map<string, Digest>()
  private readonly held = new Map<string, Held[]>()
  private heldBytes = 0
  private heldEntries = 0
  private lastExpiry = -Infinity
  private readonly flagged = new Set<string>()
  private readonly evidence = new Map<string, readonly Seal[]>()
  /** Seals that disagree with unsealed ops taken from their device, by replica (`takeConflicts`). */
  private readonly conflicts = new Map<string, Seal>()
  private readonly unknownClaims = new Map<string, Seal>()
  private readonly now: () => number

  constructor(private readonly deps: ProvenanceDeps) {
    this.selfHex = toHex(deps.self)
    this.now = deps.now ?? Date.now
    for (const seal of deps.stored) {
      if (!this.bind(seal)) continue
      const known = this.best.get(seal.replica)
      if (!known || seal.counter > known.counter) this.best.set(seal.replica, seal)
      if (toHex(seal.device) === this.selfHex) this.own.set(seal.replica, seal.nonce)
    }
    for (const c of deps.checkpoints ?? []) this.resume(c)
  }

  /**
   * Takes up a checkpoint as the replica's stream state, checked against the latest seal made or
   * checked here: at once if it is at the seal's counter; when the stream is first hashed, as far as
   * the seal, if it is before it (a checkpoint a few sessions old: a compaction does not come with every
   * close); if it is past it, by the seal it was taken past, which must be this one. A checkpoint of a
   * stream replaced since, or damaged, fails and is forgotten; the stream is then hashed from its start,
   * as without it.
   */
  private resume(c: Checkpoint): void {
    const seal = this.best.get(c.replica)
    if (!seal || c.counter === 0) return
    if (seal.form !== CURRENT_FORM) return
    const d = loadDigest(c.state, { counter: c.counter, lastRight: c.lastRight })
    if (!d) return
    if (c.counter === seal.counter && !sameBytes(digestValue(d), seal.digest)) return
    if (
      c.counter > seal.counter &&
      (c.sealed?.counter !== seal.counter || !sameBytes(c.sealed.digest, seal.digest))
    )
      return
    const check = c.counter < seal.counter ? seal : undefined
    this.digests.set(c.replica, { ...d, check })
  }

  /**
   * The stream states worth keeping with the document (see Checkpoint): those of the resumable kind
   * up to their replica's latest seal here, taken on over the ops applied since if they are at it
   * (ops that came from its device after its last seal: without them, the next session would read
   * the stored history to hash them once they are in it). Not one past the seal that is not at it (a
   * version check asked for it, and nothing vouches for it).
   */
  checkpoints(): Checkpoint[] {
    const out: Checkpoint[] = []
    const text = this.deps.text()
    for (const [replica, d] of this.digests) {
      const seal = this.best.get(replica)
      if (d.form !== CURRENT_FORM || seal?.form !== CURRENT_FORM) continue
      if (d.check || d.cursor.counter === 0 || d.cursor.counter > seal.counter) continue
      const seen = text.seenOf(replica)
      const recent =
        d.cursor.counter === seal.counter && seen > seal.counter && text.recentOpsOf?.(replica, seal.counter)
      if (recent) {
        const on = copyDigest(d)
        if (extend(on, recent.ids, recent.ops, recent.agent, seen, text.droppedOf?.(replica))) {
          const state = saveDigest(on)
          const sealed = { counter: seal.counter, digest: seal.digest }
          if (state) out.push({ replica, counter: seen, lastRight: on.cursor.lastRight, state, sealed })
          continue
        }
      }
      const state = saveDigest(d)
      if (state)
        out.push({ replica, counter: d.cursor.counter, lastRight: d.cursor.lastRight, state, sealed: null })
    }
    return out
  }

  // ---- this device's replicas ----------------------------------------------------------------------

  /**
   * A replica of this device, with its claim (counter 0) as its first seal: a new one, or the one of
   * `nonce` taken up again (its ops and later seals, held here, stay its own).
   */
  mint(nonce: Uint8Array = new Uint8Array(randomBytes(NONCE_BYTES))): string {
    const claim = makeSeal(this.deps.docId, this.deps.self, nonce, 0, EMPTY_DIGEST, this.deps.sign)
    this.adopt(claim)
    return claim.replica
  }

  /** Takes a claim minted for this device (the replica a document was opened with) as its own. */
  adopt(claim: Seal): void {
    this.bind(claim)
    this.own.set(claim.replica, claim.nonce)
    if (!this.best.has(claim.replica)) this.best.set(claim.replica, claim)
  }

  isOwn(replica: string): boolean {
    return this.own.has(replica)
  }

  /**
   * A seal of this device's replica over every op of it held here: the latest one if nothing came
   * since, else a new one (signed now). Null if the replica is not this device's, or its ops are not
   * all applied yet.
   */
  sealOwn(replica: string): Seal | null {
    const nonce = this.own.get(replica)
    if (!nonce) return null
    const counter = this.deps.text().seenOf(replica)
    const known = this.best.get(replica)
    if (known && known.counter === counter && known.form === CURRENT_FORM) return known
    const digest = this.digestAt(replica, counter)
    if (!digest) return null
    const seal = makeSeal(this.deps.docId, this.deps.self, nonce, counter, digest, this.deps.sign)
    this.best.set(replica, seal)
    return seal
  }

  // ---- who wrote what --------------------------------------------------------------------------------

  /** The device (hex) a replica is bound to, if its claim has been seen. */
  deviceOf(replica: string): string | undefined {
    return this.bound.get(replica)
  }

  /** The latest checked seal of a replica (to pass on with its ops). */
  sealOf(replica: string): Seal | undefined {
    return this.best.get(replica)
  }

  isFlagged(device: string): boolean {
    return this.flagged.has(device)
  }

  /** Devices caught signing a stream that disagrees with what they sent. */
  equivocators(): string[] {
    return [...this.flagged]
  }

  /** The seals that caught a device equivocating (two at most), to pass on as evidence. */
  evidenceOf(device: string): Seal[] {
    return [...(this.evidence.get(device) ?? [])]
  }

  /** Seals found to disagree with unsealed ops taken from their device since the last call. */
  takeConflicts(): Seal[] {
    const out = [...this.conflicts.values()]
    this.conflicts.clear()
    return out
  }

  /** The replicas bound to a device here. */
  replicasOf(device: string): string[] {
    const out: string[] = []
    for (const [replica, d] of this.bound) if (d === device) out.push(replica)
    return out
  }

  /** Whether a seal's signature is its device's. */
  signedByDevice(seal: Seal): boolean {
    return this.deps.verify(
      seal.device,
      sealPayload(this.deps.docId, seal.replica, seal.counter, seal.digest, seal.form),
      seal.signature,
    )
  }

  /** Binds a signed seal's replica to its device (see `bind`); false if it is not (now). */
  bindSeal(seal: Seal): boolean {
    return this.bind(seal)
  }

  /** Flags a device caught equivocating by a proof found elsewhere (versions.ts); `evidence` is kept. */
  flagDevice(device: string, evidence: readonly Seal[]): void {
    if (this.flagged.has(device)) return
    this.flag(device, evidence)
  }

  /** The digest of a replica's stream up to `counter` over the ops applied here; null if they do not reach it. */
  digestOf(replica: string, counter: number, form: SealForm = CURRENT_FORM): Uint8Array | null {
    return this.digestAt(replica, counter, form)
  }

  /**
   * The text now holds exactly the version `seal` covers of `replica` (a flagged device's, rebuilt or
   * extended): it is the replica's seal here, and what was kept of the other version goes.
   */
  tookVersion(seal: Seal): void {
    this.forget(seal.replica)
    this.ahead.delete(seal.replica)
    this.best.set(seal.replica, seal)
    this.prune(seal.replica, Infinity)
  }

  /** The newest seal of a replica whose signature was checked: ahead of the ops held here, or within them. */
  signedUpTo(replica: string): Seal | undefined {
    return this.ahead.get(replica) ?? this.best.get(replica)
  }

  /**
   * The text now holds another stream of `replica` than before, or more of it (an attested version,
   * forks.ts): digests kept of it are void, and ops held for it that the text now covers go.
   */
  rebuilt(replica: string): void {
    this.forget(replica)
    this.prune(replica, this.deps.text().seenOf(replica))
  }

  /**
   * What to do with a replica's ops that came from `fromDevice`: take them (from their own device),
   * hold them for a seal (anyone else), or drop them (a flagged device). `unclaimed` decides for a
   * replica whose claim is unknown (IDs from before this binding, in documents that have them).
   */
  admit(replica: string, fromDevice: string, unclaimed: () => boolean): Admission {
    const device = this.bound.get(replica)
    if (device === undefined) return unclaimed() ? 'take' : 'hold'
    if (this.flagged.has(device)) return 'drop'
    return device === fromDevice ? 'take' : 'hold'
  }

  /**
   * Seals from a peer, decoded. Returns the seals that are news here (to store and pass on), the
   * replicas whose held ops may now be released, and the seals that caught an equivocation (to pass
   * on as evidence). A bad signature throws: the whole batch is refused, as malformed.
   */
  receive(seals: readonly Seal[]): { news: Seal[]; release: string[]; evidence: Seal[] } {
    const news: Seal[] = []
    const release: string[] = []
    const evidence: Seal[] = []
    const text = this.deps.text()
    for (const seal of seals) {
      const device = toHex(seal.device)
      const known = this.best.get(seal.replica)
      // Nothing new (a replay, or older than what we hold): not even worth its signature check. A
      // different seal at the counter we hold is checked: it may prove an equivocation.
      const stale =
        known &&
        (seal.counter < known.counter ||
          (seal.counter === known.counter && sameBytes(seal.digest, known.digest)))
      if (this.flagged.has(device)) {
        // Its ops are not taken, but its new replicas are known, so that peers agree on them (forks.ts).
        if (
          seal.counter === 0 &&
          !this.bound.has(seal.replica) &&
          this.signedByDevice(seal) &&
          this.bind(seal)
        )
          this.best.set(seal.replica, seal)
        continue
      }
      if (stale) continue
      if (!this.signedByDevice(seal)) {
        throw new SealError(`a seal of replica ${seal.replica} has a bad signature`)
      }
      if (!this.bind(seal)) continue
      const seen = text.seenOf(seal.replica)
      if (seal.counter > seen) {
        const waiting = this.ahead.get(seal.replica)
        const sameCounter = waiting?.counter === seal.counter
        if (waiting && sameCounter && waiting.form === seal.form && !sameBytes(waiting.digest, seal.digest)) {
          this.flag(device, [waiting, seal])
          evidence.push(waiting, seal)
        } else if (!waiting || seal.counter > waiting.counter || (sameCounter && seal.form > waiting.form)) {
          if (!waiting && this.ahead.size >= MAX_AHEAD) this.ahead.delete(this.ahead.keys().next().value!)
          this.ahead.set(seal.replica, seal)
          release.push(seal.replica)
        }
        continue
      }
      if (this.checkWithin(seal)) news.push(seal)
      else if (this.flagged.has(device)) evidence.push(seal)
    }
    return { news, release, evidence }
  }

  /**
   * A seal within the ops held here: it must agree with them (else its device equivocated, and is
   * flagged). Returns whether it became the latest seal of its replica.
   */
  private checkWithin(seal: Seal): boolean {
    const digest = this.digestAt(seal.replica, seal.counter, seal.form)
    if (digest === null) return false // not checkable now (ops of it parked); a later seal will be
    if (!sameBytes(digest, seal.digest)) {
      const known = this.best.get(seal.replica)
      if (known && known.counter >= seal.counter) {
        // It disagrees with a stream its device sealed: a proof anyone can check (with that seal's ops).
        this.flag(toHex(seal.device), [known, seal])
      } else {
        // It disagrees with ops taken straight from its device and not sealed: those cannot be shown
        // to anyone else, so they give way to the sealed stream (forks.ts).
        this.conflicts.set(seal.replica, seal)
      }
      return false
    }
    // Of two seals at one counter, the current form's is kept: the one a node that dropped text can serve.
    const known = this.best.get(seal.replica)
    if (
      known &&
      (known.counter > seal.counter || (known.counter === seal.counter && known.form >= seal.form))
    )
      return false
    this.best.set(seal.replica, seal)
    return true
  }

  /**
   * Seals that were ahead of the ops held here and are not any more (the ops came straight from their
   * author): checked now. Returns those that became the latest (to pass on).
   */
  settle(): Seal[] {
    const news: Seal[] = []
    if (this.ahead.size === 0) return news
    const text = this.deps.text()
    for (const [replica, seal] of this.ahead) {
      if (seal.counter > text.seenOf(replica)) continue
      this.ahead.delete(replica)
      if (this.checkWithin(seal)) news.push(seal)
    }
    return news
  }

  /** Claims of devices not (yet) known as members, retried when the member list changes. */
  retryClaims(): string[] {
    const retry = [...this.unknownClaims.values()]
    this.unknownClaims.clear()
    const out: string[] = []
    for (const seal of retry) {
      if (!this.bind(seal)) continue
      const known = this.best.get(seal.replica)
      if (!known || seal.counter > known.counter) {
        if (seal.counter === 0) this.best.set(seal.replica, seal)
        else this.ahead.set(seal.replica, seal)
      }
      out.push(seal.replica)
    }
    return out
  }

  // ---- ops held for a seal ---------------------------------------------------------------------------

  /**
   * Holds one replica's ops (a batch of that replica's ops only) for a seal. False if the bounds are
   * reached (the ops are dropped; anti-entropy brings them again).
   */
  hold(entry: Omit<Held, 'at'>): boolean {
    this.expire()
    if (this.heldBytes + entry.batch.length > MAX_HELD_BYTES || this.heldEntries >= MAX_HELD_ENTRIES) {
      return false
    }
    const list = this.held.get(entry.replica) ?? []
    list.push({ ...entry, at: this.now() })
    this.held.set(entry.replica, list)
    this.heldBytes += entry.batch.length
    this.heldEntries++
    return true
  }

  /** Per replica with ops held for a seal: the highest counter held, and who sent the latest of them. */
  heldReplicas(): { replica: string; last: number; from: unknown }[] {
    this.expire()
    return [...this.held].map(([replica, list]) => ({
      replica,
      last: Math.max(...list.map((h) => h.last)),
      from: list[list.length - 1]!.from,
    }))
  }

  /** The highest counter of a replica's ops held for a seal (0 if none). */
  heldLast(replica: string): number {
    return Math.max(0, ...(this.held.get(replica) ?? []).map((h) => h.last))
  }

  /**
   * The held ops of a replica that its seal now vouches for, as batches to apply in order (each with
   * where it came from). Ops past the seal stay held; held ops that fail the seal are dropped (they
   * were forged, or their author equivocated), as are those already applied.
   */
  release(replica: string): Released[] {
    const list = this.held.get(replica)
    const seal = this.ahead.get(replica)
    const text = this.deps.text()
    const seen = text.seenOf(replica)
    if (!list || !seal) return []
    if (seal.counter <= seen) {
      this.ahead.delete(replica)
      this.checkWithin(seal)
      this.prune(replica, seen)
      return []
    }
    const base = this.stateAt(replica, seen, seal.form)
    if (!base) return []
    // Each sender's ops are checked apart: a forger's and an honest relay's may hold the same counters.
    const entries = list.filter((h) => h.last > seen).sort((a, b) => a.first - b.first)
    const senders = [...new Set(entries.map((h) => h.from))]
    let waiting = false
    for (const sender of senders) {
      const mine = entries.filter((h) => h.from === sender)
      const verdict = this.vouch(replica, mine, copyDigest(base), seal)
      if (verdict === 'gap') {
        waiting = true
        continue
      }
      if (verdict === 'mismatch') {
        this.drop(replica, mine)
        continue
      }
      return this.vouched(replica, mine, seen, seal)
    }
    // No one sender holds the whole range: the ops may have come by several paths. Together, then.
    if (waiting && senders.length > 1) {
      const all =
        this.held
          .get(replica)
          ?.filter((h) => h.last > seen)
          .sort((a, b) => a.first - b.first) ?? []
      if (this.vouch(replica, all, base, seal) === 'match') return this.vouched(replica, all, seen, seal)
    }
    return []
  }

  /** The seal checks out against `entries`: it is the latest, and their ops up to it are released. */
  private vouched(replica: string, entries: readonly Held[], seen: number, seal: Seal): Released[] {
    this.ahead.delete(replica)
    this.best.set(replica, seal)
    const out = this.cut(replica, entries, seen, seal.counter)
    this.prune(replica, seal.counter)
    return out
  }

  /** Whether a sender's held ops of a replica, after the stream held here, give the seal's digest. */
  private vouch(
    replica: string,
    entries: readonly Held[],
    state: StreamDigest,
    seal: Seal,
  ): 'match' | 'mismatch' | 'gap' {
    const known = this.deps.text().droppedOf?.(replica)
    for (const h of entries) {
      const d = decodeTextOps(h.batch)
      const agent = d.replicas.indexOf(replica)
      // Blocks the batch says were dropped are taken for this check only: a wrong hash fails it.
      extend(state, d.replicas, d.ops, agent, seal.counter, droppedWith(known, d.dropped?.get(replica)))
      if (state.cursor.counter >= seal.counter) break
    }
    if (state.cursor.counter < seal.counter) return 'gap'
    return sameBytes(digestValue(state), seal.digest) ? 'match' : 'mismatch'
  }

  /** The ops of `entries` after `from` up to `to`, trimmed, as batches to apply in order. */
  private cut(replica: string, entries: readonly Held[], from: number, to: number): Released[] {
    const out: Released[] = []
    let upTo = from
    for (const h of entries) {
      if (upTo >= to) break
      const d = decodeTextOps(h.batch)
      const agent = d.replicas.indexOf(replica)
      const ops: TextOp[] = []
      for (const op of d.ops) {
        if (op.agent !== agent) continue
        const end = op.counter + op.length - 1
        if (end <= upTo || op.counter > to) continue
        let part = op.counter <= upTo ? op.withoutPrefix(upTo - op.counter + 1) : op
        if (end > to) part = part.prefix(to - part.counter + 1)
        ops.push(part)
        upTo = part.counter + part.length - 1
      }
      if (ops.length > 0) {
        out.push({
          batch: encodeTextOps(
            d.replicas,
            ops,
            undefined,
            true,
            undefined,
            d.dropped && droppedFor(d.replicas, ops, d.dropped),
          ),
          from: h.from,
          sentTo: h.sentTo,
          catchUp: h.catchUp,
        })
      }
    }
    return out
  }

  /** Drops the given held entries of a replica. */
  private drop(replica: string, entries: readonly Held[]): void {
    const list = this.held.get(replica)
    if (!list) return
    const gone = new Set(entries)
    const keep = list.filter((h) => !gone.has(h))
    for (const h of entries) {
      this.heldBytes -= h.batch.length
      this.heldEntries--
    }
    if (keep.length > 0) this.held.set(replica, keep)
    else this.held.delete(replica)
  }

  /** Drops held ops of a replica that end at or before `upTo`. */
  private prune(replica: string, upTo: number): void {
    const list = this.held.get(replica)
    if (!list) return
    const keep = list.filter((h) => h.last > upTo)
    for (const h of list) {
      if (h.last > upTo) continue
      this.heldBytes -= h.batch.length
      this.heldEntries--
    }
    if (keep.length > 0) this.held.set(replica, keep)
    else this.held.delete(replica)
  }

  private expire(): void {
    // At most once a second: a scan of every held replica per hold would be quadratic under a flood.
    const now = this.now()
    if (now - this.lastExpiry < 1_000) return
    this.lastExpiry = now
    const limit = now - HELD_TTL_MS
    for (const [replica, list] of this.held) {
      if (list[0]!.at > limit) continue
      const keep = list.filter((h) => h.at > limit)
      for (const h of list) {
        if (h.at > limit) continue
        this.heldBytes -= h.batch.length
        this.heldEntries--
      }
      if (keep.length > 0) this.held.set(replica, keep)
      else this.held.delete(replica)
    }
  }

  // ---- internals -------------------------------------------------------------------------------------

  /**
   * Binds a seal's replica to its device: a member's (or former member's) device only, within the
   * per-device cap. A device not yet known as a member is kept aside, a few, until the list changes.
   * False if not bound (now).
   */
  private bind(seal: Seal): boolean {
    const device = toHex(seal.device)
    const known = this.bound.get(seal.replica)
    if (known !== undefined) return known === device // a derived ID names one device only
    if (device !== this.selfHex && !this.deps.isMember(device)) {
      if (this.unknownClaims.size >= MAX_UNKNOWN_CLAIMS)
        this.unknownClaims.delete(this.unknownClaims.keys().next().value!)
      const kept = this.unknownClaims.get(seal.replica)
      if (!kept || kept.counter < seal.counter) this.unknownClaims.set(seal.replica, seal)
      return false
    }
    const n = this.perDevice.get(device) ?? 0
    if (n >= (this.deps.replicasPerDevice ?? MAX_REPLICAS_PER_DEVICE)) return false
    this.perDevice.set(device, n + 1)
    this.bound.set(seal.replica, device)
    return true
  }

  private flag(device: string, evidence: readonly Seal[]): void {
    this.flagged.add(device)
    this.evidence.set(device, evidence.slice(0, 2))
    for (const [replica, d] of this.bound) if (d === device) this.prune(replica, Infinity)
  }

  /** The digest of a replica's stream up to `counter`, over the ops applied here; null if they do not reach it. */
  private digestAt(replica: string, counter: number, form: SealForm = CURRENT_FORM): Uint8Array | null {
    if (counter === 0) return EMPTY_DIGEST
    if (endsInDropped(counter, this.deps.text().droppedOf?.(replica))) return null
    const state = this.stateAt(replica, counter, form)
    return state && digestValue(state)
  }

  /** Forgets the digests kept of a replica, in either form. */
  private forget(replica: string): void {
    this.digests.delete(digestKey(replica, 1))
    this.digests.delete(digestKey(replica, 2))
  }

  /**
   * The hash state of a replica's stream up to `counter` (a copy, for the caller to extend), over the
   * ops applied here; null if they do not reach it. The state is kept where it ends and extended when
   * it is behind, so each seal checked or made hashes only the ops since the last; the stream is hashed
   * again from the start when it is past (a one-off: an older seal). It used to be kept only when it
   * ended where the replica does, so a peer's seal that came after more of its ops (every seal, while
   * its device types) hashed the whole stream again: ~1 ms a seal with 50 ops, at 15 peers' seals at once.
   */
  private stateAt(replica: string, counter: number, form: SealForm): StreamDigest | null {
    const key = digestKey(replica, form)
    let d = this.digests.get(key)
    // A state taken up from a checkpoint is used only once checked (for a counter before its seal, it is
    // then past it, and that stream is hashed from the start, as ever for an older seal).
    if (d?.check && !this.passes(replica, d, d.check)) d = undefined
    if (!d || d.cursor.counter > counter) {
      // The first form is hashed only to check seals stored before the block form: never kept.
      d = freshDigest(form, this.deps.resumable === true && form === CURRENT_FORM)
      this.digests.set(key, d)
    }
    if (d.cursor.counter < counter) {
      const text = this.deps.text()
      const { ids, agent, ops } = text.opsOf(replica, d.cursor.counter)
      // Hashed as it is written: an imported file's stream is twice its size.
      if (!extend(d, ids, ops, agent, counter, text.droppedOf?.(replica))) {
        this.digests.delete(key)
        return null
      }
    }
    return copyDigest(d)
  }

  /** Whether a state taken up from a checkpoint, extended to `seal`, gives its digest; if not, it is forgotten. */
  private passes(replica: string, d: Digest, seal: Seal): boolean {
    d.check = undefined
    const text = this.deps.text()
    const { ids, agent, ops } = text.opsOf(replica, d.cursor.counter)
    if (
      extend(d, ids, ops, agent, seal.counter, text.droppedOf?.(replica)) &&
      sameBytes(digestValue(d), seal.digest)
    )
      return true
    this.digests.delete(replica)
    return false
  }
}

export class SealError extends CrdtDecodeError {}

/** Whether a stream up to `counter` ends inside (not at the end of) a block whose text was dropped. */
function endsInDropped(counter: number, dropped: DroppedBlocks | undefined): boolean {
  return dropped !== undefined && counter % BLOCK_COUNTERS !== 0 && dropped.has(blockOf(counter))
}

/** The dropped blocks known here, joined with those a batch names (those known here win). */
function droppedWith(
  known: DroppedBlocks | undefined,
  sent: DroppedBlocks | undefined,
): DroppedBlocks | undefined {
  if (!sent || sent.size === 0) return known
  if (!known || known.size === 0) return sent
  return new Map([...sent, ...known])
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
