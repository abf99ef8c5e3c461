/**
 * Who is a member, decided from the stored member ops alone, so every peer holding the same ops
 * derives the same list, whatever order they arrived in (docs/PROTOCOL.md, "Members: signed,
 * hash-linked changes").
 *
 * - Order: ops sorted parents first, concurrent ones by ID (a deterministic topological order).
 * - Root: the op whose key and nonce derive the document ID (else a pinned legacy root's, the
 *   smallest ID first). Its author is an owner forever: no op can demote it.
 * - Authority: an op counts only if its author was an owner in the list as of the op's own past (its
 *   ancestors that count), so authority always comes down an unbroken chain of owners from the root.
 * - Seniority: an owner ranks by when it was first made owner (its grant's place in the order; the
 *   root first). An owner may demote or remove another owner only if it ranks above it, so two owners
 *   removing each other concurrently resolve the same way everywhere: the senior one's removal counts.
 * - Removal wins: once an owner is demoted, its ops concurrent with the demotion do not count (they
 *   could have been made after it, and dated back by naming old parents): a grant concurrent with the
 *   granter's removal is void, and so is everything that rested on it.
 * - Concurrent ops on one device: the least privilege wins (a removal beats a concurrent grant).
 * - Equivocation: a device that signed two different ops with the same number is flagged; none of its
 *   ops from that number on counts.
 */
import { docIdFor, privilege, type MemberCrypto, type MemberOp, type MemberRole } from './member-op'
import { fromHex } from '../sync/hex'

export interface MemberRecord {
  readonly role: MemberRole
  readonly name: string
}

export interface Resolution {
  /** Every stored op, parents first. */
  readonly order: readonly MemberOp[]
  readonly valid: ReadonlySet<string>
  readonly members: ReadonlyMap<string, MemberRecord>
  readonly root: string | undefined
  /** Equivocating authors → the first number they used twice. */
  readonly forks: ReadonlyMap<string, number>
}

/** Rounds of "removal wins" at most; each round can only follow a chain of owners one step further. */
const MAX_ROUNDS = 8

type Past = ReadonlyMap<string, number>

export function resolveMembers(
  docId: string,
  crypto: MemberCrypto,
  ops: readonly MemberOp[],
  legacyRoots: ReadonlySet<string>,
  /** Forks known from evidence that could not be stored (member-log.ts): author → number. */
  evidenceForks: ReadonlyMap<string, number> = new Map(),
): Resolution {
  const order = topologicalOrder(ops)
  const forks = findForks(order)
  for (const [author, seq] of evidenceForks) forks.set(author, Math.min(forks.get(author) ?? Infinity, seq))
  const past = pasts(order)
  const genesis = chooseGenesis(docId, crypto, order, legacyRoots)
  const root = genesis?.author
  if (!genesis) return { order, valid: new Set(), members: new Map(), root, forks }

  let excluded = new Set<string>()
  let pass = evaluate(order, past, genesis, forks, excluded)
  for (let round = 1; round < MAX_ROUNDS; round++) {
    const next = removalWins(order, past, pass)
    if (sameSet(next, excluded)) break
    excluded = next
    pass = evaluate(order, past, genesis, forks, excluded)
  }
  return { order, valid: pass.valid, members: pass.state.records(), root, forks }
}

/**
 * The member list as a set of ops makes it. Each device keeps every write not yet followed by another
 * (its concurrent heads), and shows the least privileged of them (the latest applied on a tie): keeping
 * only one would let a write that follows one head override another head it never saw.
 */
class RoleState {
  private readonly heads = new Map<string, { op: MemberOp; record: MemberRecord }[]>()

  get(device: string): MemberRecord | undefined {
    const heads = this.heads.get(device)
    return heads && leastPrivileged(heads).record
  }

  apply(op: MemberOp, opPast: Past): void {
    const heads = (this.heads.get(op.target) ?? []).filter((h) => !isAncestor(h.op, opPast))
    heads.push({ op, record: { role: op.role, name: op.name } })
    this.heads.set(op.target, heads)
  }

  records(): Map<string, MemberRecord> {
    return new Map([...this.heads].map(([d, heads]) => [d, leastPrivileged(heads).record]))
  }
}

function leastPrivileged<T extends { record: MemberRecord }>(heads: readonly T[]): T {
  let out = heads[0]!
  for (const h of heads) if (privilege(h.record.role) <= privilege(out.record.role)) out = h
  return out
}

interface Pass {
  readonly valid: Set<string>
  readonly state: RoleState
  /** Valid ops that took owner rights from an owner. */
  readonly demotions: MemberOp[]
}

function evaluate(
  order: readonly MemberOp[],
  past: ReadonlyMap<string, Past>,
  genesis: MemberOp,
  forks: ReadonlyMap<string, number>,
  excluded: ReadonlySet<string>,
): Pass {
  const root = genesis.author
  const valid = new Set<string>()
  const state = new RoleState()
  const rank = new Map<string, number>([[root, -1]])
  const demotions: MemberOp[] = []
  const rankOf = (d: string): number => rank.get(d) ?? Infinity
  order.forEach((op, index) => {
    const opPast = past.get(op.id)!
    if (op.kind !== 'change') {
      if (op !== genesis) return
      valid.add(op.id)
      state.apply(op, opPast)
      return
    }
    const fork = forks.get(op.author)
    if ((fork !== undefined && op.seq >= fork) || excluded.has(op.id)) return
    // The list as of the op's past: the running state when that past is everything before it (a
    // linear history, the usual case), else rebuilt from the valid ops among its ancestors.
    const seen = pastSize(opPast) === index ? state : stateOf(order, index, opPast, valid, past)
    const authorRole = op.author === root ? 'owner' : seen.get(op.author)?.role
    if (authorRole !== 'owner') return
    if (op.target === root && op.role !== 'owner') return
    const targetWasOwner = op.target === root || seen.get(op.target)?.role === 'owner'
    const demotes = op.role !== 'owner'
    if (demotes && targetWasOwner && op.target !== op.author && !(rankOf(op.author) < rankOf(op.target)))
      return
    valid.add(op.id)
    state.apply(op, opPast)
    if (op.role === 'owner' && !rank.has(op.target)) rank.set(op.target, index)
    // Also when the target was no owner as of this op: a concurrent grant may have made it one, and
    // what it did as owner without seeing this op could have been made after it and dated back.
    if (demotes) demotions.push(op)
  })
  return { valid, state, demotions: demotions.filter((d) => rank.has(d.target)) }
}

function stateOf(
  order: readonly MemberOp[],
  index: number,
  opPast: Past,
  valid: ReadonlySet<string>,
  past: ReadonlyMap<string, Past>,
): RoleState {
  const state = new RoleState()
  for (let i = 0; i < index; i++) {
    const op = order[i]!
    if (valid.has(op.id) && isAncestor(op, opPast)) state.apply(op, past.get(op.id)!)
  }
  return state
}

/** The ops of each demoted owner that are concurrent with its demotion: they do not count. */
function removalWins(order: readonly MemberOp[], past: ReadonlyMap<string, Past>, pass: Pass): Set<string> {
  const out = new Set<string>()
  for (const demotion of pass.demotions) {
    const dPast = past.get(demotion.id)!
    for (const op of order) {
      if (op.author !== demotion.target || op === demotion) continue
      const concurrent = !isAncestor(op, dPast) && !isAncestor(demotion, past.get(op.id)!)
      if (concurrent) out.add(op.id)
    }
  }
  return out
}

function chooseGenesis(
  docId: string,
  crypto: MemberCrypto,
  order: readonly MemberOp[],
  legacyRoots: ReadonlySet<string>,
): MemberOp | undefined {
  let legacy: MemberOp | undefined
  for (const op of order) {
    if (op.kind === 'genesis' && op.nonce && docIdFor(crypto, fromHex(op.author), op.nonce) === docId)
      return op
    if (op.kind === 'legacy-genesis' && legacyRoots.has(op.author) && (!legacy || op.id < legacy.id))
      legacy = op
  }
  return legacy
}

/** Parents first; among ops whose parents are all placed, the smallest ID next. */
function topologicalOrder(ops: readonly MemberOp[]): MemberOp[] {
  const byId = new Map(ops.map((op) => [op.id, op]))
  const waiting = new Map<string, number>()
  const children = new Map<string, MemberOp[]>()
  const ready: MemberOp[] = []
  for (const op of ops) {
    const parents = op.parents.filter((p) => byId.has(p))
    waiting.set(op.id, parents.length)
    for (const p of parents) {
      const list = children.get(p)
      if (list) list.push(op)
      else children.set(p, [op])
    }
    if (parents.length === 0) ready.push(op)
  }
  const out: MemberOp[] = []
  ready.sort(byIdDescending)
  while (ready.length > 0) {
    const op = ready.pop()!
    out.push(op)
    for (const child of children.get(op.id) ?? []) {
      const left = waiting.get(child.id)! - 1
      waiting.set(child.id, left)
      if (left === 0) insertSorted(ready, child)
    }
  }
  return out
}

const byIdDescending = (a: MemberOp, b: MemberOp): number => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

function insertSorted(ready: MemberOp[], op: MemberOp): void {
  let lo = 0
  let hi = ready.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (byIdDescending(ready[mid]!, op) <= 0) lo = mid + 1
    else hi = mid
  }
  ready.splice(lo, 0, op)
}

/**
 * Each op's causal past as a version vector (author → highest number among its ancestors): an
 * author's ops form a chain, so that is exact for every author who never equivocated.
 */
function pasts(order: readonly MemberOp[]): Map<string, Past> {
  const out = new Map<string, Past>()
  const byId = new Map(order.map((op) => [op.id, op]))
  for (const op of order) {
    const v = new Map<string, number>()
    for (const p of op.parents) {
      const parent = byId.get(p)
      if (!parent) continue
      for (const [a, s] of out.get(p)!) if (s > (v.get(a) ?? 0)) v.set(a, s)
      if (parent.seq > (v.get(parent.author) ?? 0)) v.set(parent.author, parent.seq)
    }
    out.set(op.id, v)
  }
  return out
}

const isAncestor = (op: MemberOp, of: Past): boolean => op.seq <= (of.get(op.author) ?? 0)

function pastSize(p: Past): number {
  let n = 0
  for (const s of p.values()) n += s
  return n
}

function findForks(order: readonly MemberOp[]): Map<string, number> {
  const seen = new Map<string, string>()
  const forks = new Map<string, number>()
  for (const op of order) {
    const slot = `${op.author}/${op.seq}`
    const other = seen.get(slot)
    if (other === undefined) seen.set(slot, op.id)
    else if (other !== op.id) forks.set(op.author, Math.min(forks.get(op.author) ?? Infinity, op.seq))
  }
  return forks
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}
