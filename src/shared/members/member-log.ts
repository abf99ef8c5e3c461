/**
 * MemberLog: a document's member list as a set of signed, hash-linked changes (member-op.ts), and the
 * one member list every peer derives from the same set (authority.ts). It syncs like the other CRDTs:
 * a version vector (author → how many of its ops are held), `changesSince`, and ops parked until their
 * parents arrive.
 *
 * What it stores is bounded, whoever sends it: an op is kept only if its parents are here, it is its
 * author's next (or a fork of an earlier one: an equivocation, kept as evidence), and its author is the
 * document's root or a device made owner in the op's own past; at most MAX_OPS_PER_AUTHOR per author and MAX_OPS
 * in all, and MAX_PENDING waiting for parents. Whether an op takes effect is decided by `resolve`.
 */
import { CrdtDecodeError, type VersionVector } from '../crdt/types'
import { resolveMembers, type MemberRecord, type Resolution } from './authority'
import {
  MAX_PARENTS,
  decodeMemberOps,
  docIdFor,
  encodeMemberOps,
  signMemberOp,
  verifyMemberOp,
  type MemberCrypto,
  type MemberOp,
  type MemberRole,
  type Sign,
} from './member-op'
import { fromHex } from '../sync/hex'

export type { MemberRecord } from './authority'

export const MAX_OPS_PER_AUTHOR = 1024
export const MAX_OPS = 4096
export const MAX_PENDING = 1024
export const MAX_EVIDENCE = 256

export interface MemberChangeRequest {
  readonly target: string
  readonly role: MemberRole
  readonly name: string
  readonly time: number
  /** For the creator's first op only: the nonce its document ID derives from. */
  readonly genesisNonce?: Uint8Array
}

export class MemberLog {
  private readonly ops = new Map<string, MemberOp>()
  /** Each author's ops by seq − 1; a slot holds two or more ops only if the author equivocated. */
  private readonly chains = new Map<string, MemberOp[][]>()
  private readonly pending = new Map<string, MemberOp>()
  /**
   * Signed proof of a fork this log cannot store (its parents are on the other branch): an op of an
   * author for a number this log already holds a different op for, or one that does not follow the op
   * held before it. Kept (MAX_EVIDENCE at most), sent on, and enough to flag the author everywhere.
   */
  private readonly evidence = new Map<string, MemberOp>()
  private readonly legacyRoots = new Set<string>()
  private resolution: Resolution | null = null

  constructor(
    readonly docId: string,
    private readonly crypto: MemberCrypto,
    legacyRoots: Iterable<string> = [],
  ) {
    for (const r of legacyRoots) this.legacyRoots.add(r)
  }

  static load(
    docId: string,
    crypto: MemberCrypto,
    saved: Uint8Array,
    legacyRoots: Iterable<string> = [],
  ): MemberLog {
    const log = new MemberLog(docId, crypto, legacyRoots)
    // Our own storage: every op was verified when it arrived.
    log.integrate(decodeMemberOps(crypto, docId, saved))
    return log
  }

  // ---- sync ------------------------------------------------------------------------------------------

  version(): VersionVector {
    const v: VersionVector = {}
    for (const [author, chain] of this.chains) v[author] = chain.length
    return v
  }

  pendingCount(): number {
    return this.pending.size
  }

  /**
   * Ops held, stored or kept as evidence: grows exactly when a batch taught this log something worth
   * storing and passing on. Parked ops do not count: anyone can send ops whose parents never come
   * (an editor's, made up), so they are neither stored nor relayed, only kept in memory (bounded).
   */
  opCount(): number {
    return this.ops.size + this.evidence.size
  }

  /**
   * Ops a peer at `v` lacks, parents first. Also: an equivocator's forked ops and the fork evidence
   * (so every peer learns of it), and this log's op at each number `v` claims as an author's last, so
   * that a peer given one branch of a fork and this log given the other find out (a version vector
   * alone cannot tell two branches of equal length apart).
   */
  changesSince(v: VersionVector): Uint8Array {
    const { order, forks } = this.resolve()
    const out = order.filter((op) => {
      const fork = forks.get(op.author)
      const seen = v[op.author] ?? 0
      return op.seq >= seen || (fork !== undefined && op.seq >= fork)
    })
    return encodeMemberOps([...out, ...this.evidence.values()])
  }

  /**
   * Ops from a peer. Throws CrdtDecodeError for a malformed batch or a bad signature (the sender is
   * lying or broken); ops that are well formed but not admissible are dropped. Returns the devices
   * whose record changed.
   */
  applyRemote(batch: Uint8Array): string[] {
    const ops = decodeMemberOps(this.crypto, this.docId, batch)
    for (const op of ops) {
      if (!this.ops.has(op.id) && !verifyMemberOp(this.crypto, this.docId, op)) {
        throw new CrdtDecodeError(`member op ${op.id.slice(0, 8)} has a bad signature`)
      }
    }
    return this.integrate(ops)
  }

  save(): Uint8Array {
    return encodeMemberOps([...this.resolve().order, ...this.evidence.values()])
  }

  /** Devices pinned as roots of a document made before signed members (see member-op.ts). */
  pinLegacyRoots(keys: Iterable<string>): string[] {
    const before = this.snapshot()
    for (const k of keys) this.legacyRoots.add(k)
    this.resolution = null
    this.admitParked()
    return this.diff(before)
  }

  // ---- authoring -------------------------------------------------------------------------------------

  /** Makes, signs and applies an op by `author`; returns it as a batch to store and send. */
  change(author: string, sign: Sign, request: MemberChangeRequest): Uint8Array {
    const chain = this.chains.get(author)
    const seq = (chain?.length ?? 0) + 1
    const genesis = seq === 1 && this.ops.size === 0
    const kind = !genesis
      ? 'change'
      : request.genesisNonce && docIdFor(this.crypto, fromHex(author), request.genesisNonce) === this.docId
        ? 'genesis'
        : 'legacy-genesis'
    const op = signMemberOp(
      this.crypto,
      this.docId,
      {
        author,
        seq,
        kind,
        ...(kind === 'genesis' ? { nonce: request.genesisNonce! } : {}),
        parents: genesis ? [] : this.parentsFor(author),
        target: request.target,
        role: request.role,
        name: request.name,
        time: request.time,
      },
      sign,
    )
    // Only a change that counts is kept and sent: checked against the list with it added.
    const roots = new Set(this.legacyRoots)
    if (kind === 'legacy-genesis') roots.add(author)
    if (!resolveMembers(this.docId, this.crypto, [...this.ops.values(), op], roots).valid.has(op.id)) {
      throw new RangeError('this change would not count: its author lacks the authority')
    }
    if (kind === 'legacy-genesis') this.legacyRoots.add(author)
    this.integrate([op])
    return encodeMemberOps([op])
  }

  // ---- reading ---------------------------------------------------------------------------------------

  get(device: string): MemberRecord | undefined {
    return this.resolve().members.get(device)
  }

  entries(): [string, MemberRecord][] {
    return [...this.resolve().members]
  }

  /** The device that created the document (never removed), once its first op is here. */
  root(): string | undefined {
    return this.resolve().root
  }

  /** Devices caught signing two different ops with one number: none of their ops from there counts. */
  equivocators(): string[] {
    return [...this.resolve().forks.keys()]
  }

  /** Ops stored (for bounds and tests). */
  get size(): number {
    return this.ops.size
  }

  /** Whether the op with this ID is stored and in effect. */
  isValid(id: string): boolean {
    return this.resolve().valid.has(id)
  }

  // ---- internals -------------------------------------------------------------------------------------

  private resolve(): Resolution {
    this.resolution ??= resolveMembers(
      this.docId,
      this.crypto,
      [...this.ops.values()],
      this.legacyRoots,
      this.evidenceForks(),
    )
    return this.resolution
  }

  /** The heads, plus the author's own last op; at most MAX_PARENTS, the latest first. */
  private parentsFor(author: string): string[] {
    const { order } = this.resolve()
    const hasChild = new Set<string>()
    for (const op of order) for (const p of op.parents) hasChild.add(p)
    const heads = order.filter((op) => !hasChild.has(op.id)).map((op) => op.id)
    const own = this.chains.get(author)?.at(-1)?.[0]?.id
    const parents = own ? [own, ...heads.filter((h) => h !== own)] : heads
    return parents.slice(0, MAX_PARENTS)
  }

  private integrate(ops: readonly MemberOp[]): string[] {
    const before = this.snapshot()
    let added = false
    for (const op of ops) {
      if (this.ops.has(op.id) || this.pending.has(op.id) || this.evidence.has(op.id)) continue
      added = this.admit(op) || added
    }
    if (!added) return []
    this.resolution = null
    return this.diff(before)
  }

  /** Stores `op` if admissible (and then every parked op it unblocks); parks it if parents are missing. */
  private admit(op: MemberOp): boolean {
    if (this.provesFork(op)) {
      if (this.evidence.size >= MAX_EVIDENCE) return false
      this.evidence.set(op.id, op)
      return true
    }
    const state = this.readiness(op)
    if (state === 'refuse') return false
    if (state === 'wait') {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!)
      this.pending.set(op.id, op)
      return false
    }
    this.store(op)
    this.admitParked()
    return true
  }

  /** Stores the parked ops that can be now (and those they unblock), until none can. */
  private admitParked(): void {
    for (let progress = true; progress;) {
      progress = false
      // Evidence whose parents have arrived is an op like any other now (its fork is in the chain):
      // stored, else ops naming it would wait for it forever.
      for (const kept of this.evidence.values()) {
        if (this.provesFork(kept) || this.readiness(kept) !== 'ready') continue
        this.evidence.delete(kept.id)
        this.store(kept)
        progress = true
      }
      for (const parked of this.pending.values()) {
        // Parked before the other branch of its author's fork arrived: it proves that fork now.
        if (this.provesFork(parked)) {
          if (this.evidence.size >= MAX_EVIDENCE) continue
          this.pending.delete(parked.id)
          this.evidence.set(parked.id, parked)
          progress = true
          continue
        }
        const s = this.readiness(parked)
        if (s === 'wait') continue
        this.pending.delete(parked.id)
        if (s === 'ready') this.store(parked)
        progress = true
      }
    }
  }

  /**
   * Whether `op` (signature checked) shows its author forked and cannot be stored: this log holds a
   * different op of that author with its number and not all its parents, or holds the author's op
   * before it and `op` names another one as its predecessor.
   */
  private provesFork(op: MemberOp): boolean {
    const chain = this.chains.get(op.author)
    if (op.kind !== 'change' || !chain) return false
    const same = chain?.[op.seq - 1]
    if (same && !same.some((o) => o.id === op.id) && !op.parents.every((p) => this.ops.has(p))) return true
    const before = op.seq > 1 ? chain?.[op.seq - 2] : undefined
    return before !== undefined && !op.parents.some((p) => before.some((o) => o.id === p))
  }

  private readiness(op: MemberOp): 'ready' | 'wait' | 'refuse' {
    if (op.kind === 'genesis') {
      return op.nonce && docIdFor(this.crypto, fromHex(op.author), op.nonce) === this.docId
        ? 'ready'
        : 'refuse'
    }
    // Parked, not refused: this device may pin its author later (it opens the old list, or joins).
    if (op.kind === 'legacy-genesis') return this.legacyRoots.has(op.author) ? 'ready' : 'wait'
    const chain = this.chains.get(op.author)
    const count = chain?.reduce((n, slot) => n + slot.length, 0) ?? 0
    if (count >= MAX_OPS_PER_AUTHOR || this.ops.size >= MAX_OPS) return 'refuse'
    if (op.seq > (chain?.length ?? 0) + 1) return 'wait'
    if (!op.parents.every((p) => this.ops.has(p))) return 'wait'
    if (
      op.seq > 1 &&
      !op.parents.some((p) => this.ops.get(p)!.author === op.author && this.ops.get(p)!.seq === op.seq - 1)
    ) {
      return 'refuse' // an author's ops form a chain: each names the one before
    }
    // Only an op whose author was made owner in its own past can count, so only such ops are kept:
    // no editor or viewer can make this log hold anything. Decided by the op's past alone, so every
    // peer keeps the same ops. An author's later ops name its earlier ones: only its first is checked.
    return op.seq > 1 || this.ownerInPast(op) ? 'ready' : 'refuse'
  }

  /** Whether a stored ancestor of `op` roots the document as its author or makes its author owner. */
  private ownerInPast(op: MemberOp): boolean {
    const seen = new Set<string>()
    const queue = [...op.parents]
    while (queue.length > 0) {
      const id = queue.pop()!
      if (seen.has(id)) continue
      seen.add(id)
      const a = this.ops.get(id)
      if (!a) continue
      if (a.kind === 'change' ? a.role === 'owner' && a.target === op.author : a.author === op.author)
        return true
      queue.push(...a.parents)
    }
    return false
  }

  private store(op: MemberOp): void {
    this.ops.set(op.id, op)
    let chain = this.chains.get(op.author)
    if (!chain) this.chains.set(op.author, (chain = []))
    const slot = chain[op.seq - 1]
    if (slot) slot.push(op)
    else chain[op.seq - 1] = [op]
  }

  /** Author → the lowest number the evidence shows it used twice. */
  private evidenceForks(): Map<string, number> {
    const forks = new Map<string, number>()
    for (const op of this.evidence.values()) {
      const chain = this.chains.get(op.author)
      const same = chain?.[op.seq - 1]?.some((o) => o.id !== op.id)
      const at = same ? op.seq : op.seq - 1
      forks.set(op.author, Math.min(forks.get(op.author) ?? Infinity, at))
    }
    return forks
  }

  private snapshot(): Map<string, string> {
    if (!this.resolution && this.ops.size === 0) return new Map()
    const out = new Map<string, string>()
    for (const [d, r] of this.resolve().members) out.set(d, `${r.role}/${r.name}`)
    return out
  }

  private diff(before: Map<string, string>): string[] {
    const after = this.snapshot()
    const changed: string[] = []
    for (const [d, v] of after) if (before.get(d) !== v) changed.push(d)
    for (const d of before.keys()) if (!after.has(d)) changed.push(d)
    return changed
  }
}
