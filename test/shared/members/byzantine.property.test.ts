/**
 * Seeded property test of the member list under Byzantine devices (src/shared/members).
 *
 * Each seed builds a document with a root, 1–4 other honest devices and 1–2 Byzantine ones, each with
 * its own in-memory MemberLog replica. Honest devices change the list only through `change()`, on their
 * own replica, between random partial syncs (random subsets of `changesSince`, shuffled), so honest ops
 * are really concurrent. Byzantine devices sign ops they have no authority for, forge other devices'
 * signatures, equivocate, replay old ops, back-date ops after their removal, and withhold (deliver their
 * ops to only some replicas). After a full exchange among honest replicas the test checks:
 *
 * - every honest replica holds every honest op, and derives the same list, root and equivocators;
 * - the root is an owner; every owner is the root or was made owner by an op whose author could ever
 *   hold owner rights (honest devices, and Byzantine ones an honest owner made owner): a Byzantine
 *   device no honest owner made owner is never an owner, and none of its ops counts;
 * - reference model: an honest change that follows every other change to its target, and that nothing
 *   which could count is concurrent with, is in effect (`get(target)` shows it);
 * - the concurrency rules, over the ops that count: a device's record is the least privileged of the
 *   changes to it that no other change to it follows; no op counts that is concurrent with a change
 *   taking its author's owner rights (removal wins);
 * - a change made after the full exchange is in effect everywhere once it is passed on.
 *
 * Seeds: MESHPAD_SEEDS (default 1000) from 1, or one seed with MESHPAD_SEED. A failure names its seed and
 * the command that reruns it.
 *
 * The two branches of an equivocation go to random sets of replicas, often disjoint: a version vector
 * alone cannot tell two equally long branches apart, so this is what the fork evidence must catch.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import { CrdtDecodeError } from '../../../src/shared/crdt/types'
import { MemberLog, type MemberRecord } from '../../../src/shared/members/member-log'
import {
  decodeMemberOps,
  docIdFor,
  encodeMemberOps,
  privilege,
  signMemberOp,
  type MemberOp,
  type MemberRole,
  type Sign,
} from '../../../src/shared/members/member-op'
import { toHex } from '../../../src/shared/sync/hex'
import { Prng } from '../crdt/harness'

const SEEDS = Number(process.env.MESHPAD_SEEDS ?? 1000)
const ONE_SEED = process.env.MESHPAD_SEED === undefined ? undefined : Number(process.env.MESHPAD_SEED)
const CHUNK = 100

interface Device {
  readonly key: string
  readonly sign: Sign
  readonly publicKey: Uint8Array
}

/** PKCS#8 DER prefix of an Ed25519 private key: the 32-byte seed follows. */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')

/** An Ed25519 device key pair from the PRNG, so that a seed replays the same keys, IDs and order. */
function deviceFrom(prng: Prng): Device {
  const seed = prng.bytes(32)
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  const secretKey = new Uint8Array(64)
  secretKey.set(seed)
  secretKey.set(publicKey, 32)
  return { key: toHex(publicKey), publicKey, sign: signerFor({ publicKey, secretKey }) }
}

interface Byzantine extends Device {
  /** Its own ops, one per number (the branch it keeps building on). */
  readonly chain: MemberOp[]
  /** Heads of its replica when it last saw itself as owner: what a back-dated op names. */
  ownerHeads: string[] | null
  equivocated: boolean
}

const sortEntries = (entries: [string, MemberRecord][]): [string, MemberRecord][] =>
  [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

const normalize = (v: Record<string, number>): [string, number][] =>
  Object.entries(v)
    .filter(([, n]) => n > 0)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))

interface SeedStats {
  honestOps: number
  byzantineOps: number
  referenceChecks: number
}

/** One seeded scenario; throws (an assertion error) on any violated property. */
function runSeed(seed: number, stats: SeedStats): void {
  const prng = new Prng(seed)
  let clock = 0
  const root = deviceFrom(prng)
  const honest: Device[] = [root]
  for (let i = prng.range(1, 4); i > 0; i--) honest.push(deviceFrom(prng))
  const byzantine: Byzantine[] = []
  for (let i = prng.range(1, 2); i > 0; i--) {
    byzantine.push({ ...deviceFrom(prng), chain: [], ownerHeads: null, equivocated: false })
  }
  const outsider = deviceFrom(prng) // named in changes, never acts
  const everyone: Device[] = [...honest, ...byzantine, outsider]
  /** Whether honest owners may make a Byzantine device owner in this scenario. */
  const trustByzantine = prng.chance(0.3)

  const nonce = prng.bytes(16)
  const docId = docIdFor(memberCrypto, root.publicKey, nonce)
  const replicas = new Map<string, MemberLog>(
    everyone.map((d) => [d.key, new MemberLog(docId, memberCrypto)]),
  )
  const logOf = (d: Device): MemberLog => replicas.get(d.key)!
  const honestLogs = honest.map(logOf)
  const decode = (batch: Uint8Array): MemberOp[] => decodeMemberOps(memberCrypto, docId, batch)

  /** Every op signed by its author (honest or Byzantine), by ID: the reference model's DAG. */
  const allOps = new Map<string, MemberOp>()
  const honestOps: MemberOp[] = []
  const remember = (ops: MemberOp[]): void => {
    for (const op of ops) allOps.set(op.id, op)
  }

  remember(
    decode(
      logOf(root).change(root.key, root.sign, {
        target: root.key,
        role: 'owner',
        name: 'root',
        time: ++clock,
        genesisNonce: nonce,
      }),
    ),
  )
  honestOps.push(...allOps.values())

  const heads = (log: MemberLog): string[] => {
    const ops = decode(log.changesSince({}))
    const named = new Set(ops.flatMap((op) => op.parents))
    return ops.filter((op) => !named.has(op.id)).map((op) => op.id)
  }

  /** Delivers a random subset of what `from` has and `to` lacks, shuffled, in one or two batches. */
  const partialSync = (from: MemberLog, to: MemberLog): void => {
    const ops = decode(from.changesSince(to.version()))
    const keep = prng.chance(0.5) ? ops : prng.shuffle(ops.filter(() => prng.chance(0.7)))
    const cut = prng.int(keep.length + 1)
    for (const part of [keep.slice(0, cut), keep.slice(cut)])
      if (part.length > 0) to.applyRemote(encodeMemberOps(part))
  }

  // ---- honest actions ---------------------------------------------------------------------------------

  const roles: MemberRole[] = ['owner', 'editor', 'viewer', 'removed']
  const honestChange = (): void => {
    const owners = honest.filter((d) => logOf(d).get(d.key)?.role === 'owner')
    const author = prng.pick(owners) // the root always is
    const target = prng.pick(everyone)
    let role = prng.pick(roles)
    if (role === 'owner' && byzantine.some((b) => b.key === target.key) && !trustByzantine) role = 'editor'
    try {
      const ops = decode(
        logOf(author).change(author.key, author.sign, {
          target: target.key,
          role,
          name: `n${clock}`,
          time: ++clock,
        }),
      )
      remember(ops)
      honestOps.push(...ops)
    } catch (e) {
      if (!(e instanceof RangeError)) throw e // no authority for this one (a senior owner, the root)
    }
  }

  const honestSync = (): void => {
    const from = prng.pick(honestLogs)
    const to = prng.pick(honestLogs)
    if (from !== to) partialSync(from, to)
    if (prng.chance(0.5)) partialSync(to, from)
    // Byzantine devices listen in, so they know the heads to build on.
    const b = prng.pick(byzantine)
    logOf(b).applyRemote(prng.pick(honestLogs).changesSince(logOf(b).version()))
    if (logOf(b).get(b.key)?.role === 'owner') b.ownerHeads = heads(logOf(b))
  }

  // ---- Byzantine actions ------------------------------------------------------------------------------

  const someHonest = (): MemberLog[] => honestLogs.filter(() => prng.chance(0.5))

  /** Hands ops to some honest replicas only (withholding) and to the Byzantine device's own. */
  const deliver = (b: Byzantine, ops: MemberOp[], to: MemberLog[]): void => {
    remember(ops)
    stats.byzantineOps += ops.length
    for (const log of [logOf(b), ...to]) log.applyRemote(encodeMemberOps(ops))
  }

  const sign = (
    b: Byzantine,
    fields: { seq: number; parents: string[]; target: string; role: MemberRole; name?: string },
  ): MemberOp =>
    signMemberOp(
      memberCrypto,
      docId,
      { author: b.key, kind: 'change', name: `b${clock}`, time: ++clock, ...fields },
      b.sign,
    )

  /** Parents for the Byzantine device's next op: its own last op, and `others`. */
  const parentsFor = (b: Byzantine, others: string[]): string[] => {
    const own = b.chain.at(-1)?.id
    const set = new Set([...(own ? [own] : []), ...others])
    if (set.size === 0) set.add([...allOps.values()][0]!.id) // the genesis
    return [...set].slice(0, 16)
  }

  const randomOp = (b: Byzantine, parents: string[]): MemberOp =>
    sign(b, {
      seq: b.chain.length + 1,
      parents: parentsFor(b, parents),
      target: prng.pick(everyone).key,
      role: prng.pick(roles),
    })

  /** An op it has no authority for (or, if it was made owner, one that may well count). */
  const unauthorized = (b: Byzantine): void => {
    const op = prng.chance(0.5)
      ? sign(b, {
          seq: b.chain.length + 1,
          parents: parentsFor(b, heads(logOf(b))),
          target: b.key,
          role: 'owner',
        })
      : randomOp(b, heads(logOf(b)))
    b.chain.push(op)
    deliver(b, [op], someHonest())
  }

  /** An op in an honest device's name, signed with the Byzantine key: every replica refuses the batch. */
  const forgeSignature = (b: Byzantine): void => {
    const victim = prng.pick(honest)
    const log = logOf(prng.pick(honest))
    const forged = signMemberOp(
      memberCrypto,
      docId,
      {
        author: victim.key,
        seq: (log.version()[victim.key] ?? 0) + 1,
        kind: 'change',
        parents: [...new Set([...heads(log), [...allOps.keys()][0]!])].slice(0, 16),
        target: b.key,
        role: 'owner',
        name: 'forged',
        time: ++clock,
      },
      b.sign,
    )
    const honestOnes = decode(log.changesSince({})).slice(-2)
    const before = { entries: sortEntries(log.entries()), size: log.size, pending: log.pendingCount() }
    const batch = prng.chance(0.5) ? [forged] : prng.shuffle([forged, ...honestOnes])
    expect(() => log.applyRemote(encodeMemberOps(batch))).toThrow(CrdtDecodeError)
    expect({ entries: sortEntries(log.entries()), size: log.size, pending: log.pendingCount() }).toEqual(
      before,
    )
  }

  /** Two different ops with one number, to different replicas (sometimes both to one). */
  const equivocate = (b: Byzantine): void => {
    const parents = parentsFor(b, heads(logOf(b)))
    const seq = b.chain.length + 1
    const left = sign(b, {
      seq,
      parents,
      target: prng.pick(everyone).key,
      role: prng.pick(roles),
      name: 'left',
    })
    const right = sign(b, {
      seq,
      parents,
      target: prng.pick(everyone).key,
      role: prng.pick(roles),
      name: 'right',
    })
    b.chain.push(left)
    b.equivocated = true
    const toLeft = someHonest()
    const toRight = someHonest()
    if (prng.chance(0.3)) {
      const both = prng.pick(honestLogs)
      if (!toLeft.includes(both)) toLeft.push(both)
      if (!toRight.includes(both)) toRight.push(both)
    }
    deliver(b, [left], toLeft)
    remember([right])
    stats.byzantineOps++
    for (const log of toRight) log.applyRemote(encodeMemberOps([right]))
  }

  /** Old ops again: ones a replica holds (nothing may change), and any ever signed. */
  const replay = (): void => {
    const log = prng.pick(honestLogs)
    const held = decode(log.changesSince({}))
    const before = { entries: sortEntries(log.entries()), size: log.size, version: normalize(log.version()) }
    const again = prng.shuffle(held.filter(() => prng.chance(0.3)))
    expect(log.applyRemote(encodeMemberOps(again))).toEqual([])
    expect({
      entries: sortEntries(log.entries()),
      size: log.size,
      version: normalize(log.version()),
    }).toEqual(before)
    const old = prng.shuffle([...allOps.values()].filter(() => prng.chance(0.2)))
    prng.pick(honestLogs).applyRemote(encodeMemberOps(old))
  }

  /** Once demoted, an op naming only what it had while it was owner. */
  const backDate = (b: Byzantine): void => {
    if (b.ownerHeads === null || logOf(b).get(b.key)?.role === 'owner') return unauthorized(b)
    const op = randomOp(b, b.ownerHeads)
    b.chain.push(op)
    deliver(b, [op], someHonest())
  }

  const byzantineAction = (): void => {
    const b = prng.pick(byzantine)
    const r = prng.int(100)
    if (r < 30) unauthorized(b)
    else if (r < 40) forgeSignature(b)
    else if (r < 60) equivocate(b)
    else if (r < 75) replay()
    else backDate(b)
  }

  // ---- the run ----------------------------------------------------------------------------------------

  // Most scenarios start with several honest owners, so that owners' changes really are concurrent.
  for (const d of honest.slice(1)) {
    if (!prng.chance(0.6)) continue
    const ops = decode(
      logOf(root).change(root.key, root.sign, { target: d.key, role: 'owner', name: 'o', time: ++clock }),
    )
    remember(ops)
    honestOps.push(...ops)
  }
  for (const log of honestLogs)
    if (log !== logOf(root)) log.applyRemote(logOf(root).changesSince(log.version()))

  for (let steps = prng.range(12, 30); steps > 0; steps--) {
    const r = prng.int(100)
    if (r < 40) honestChange()
    else if (r < 75) honestSync()
    else byzantineAction()
  }

  const exchange = (): void => {
    for (let round = 0; round < 10; round++) {
      let moved = false
      for (const from of honestLogs) {
        for (const to of honestLogs) {
          if (from === to) continue
          const size = to.size
          to.applyRemote(from.changesSince(to.version()))
          if (to.size !== size) moved = true
        }
      }
      if (!moved) return
    }
  }
  exchange()

  // ---- properties -------------------------------------------------------------------------------------

  const [first, ...rest] = honestLogs as [MemberLog, ...MemberLog[]]
  const list = sortEntries(first.entries())
  const equivocators = first.equivocators().sort()
  for (const log of rest) {
    expect(sortEntries(log.entries()), 'same list on every honest replica').toEqual(list)
    expect(log.root()).toBe(first.root())
    expect(log.equivocators().sort()).toEqual(equivocators)
    expect(normalize(log.version())).toEqual(normalize(first.version()))
  }
  const stored = decode(first.changesSince({}))
  for (const log of rest) for (const op of stored) expect(log.isValid(op.id)).toBe(first.isValid(op.id))

  // Every honest op reached every honest replica.
  for (const d of honest) {
    const made = honestOps.filter((op) => op.author === d.key).length
    for (const log of honestLogs) expect(log.version()[d.key] ?? 0, 'honest ops all delivered').toBe(made)
  }
  // No honest device is ever taken for an equivocator.
  for (const d of honest) expect(equivocators).not.toContain(d.key)

  expect(first.root()).toBe(root.key)
  expect(first.get(root.key)?.role).toBe('owner')

  // Authority comes down from the root: the devices that could ever hold owner rights are the root, and
  // targets of owner grants by honest devices or by Byzantine devices an honest owner made owner.
  const honestKeys = new Set(honest.map((d) => d.key))
  const trusted = new Set(honestKeys)
  for (const op of honestOps) if (op.role === 'owner' && !honestKeys.has(op.target)) trusted.add(op.target)
  const mayOwn = new Set([root.key])
  for (const op of allOps.values()) if (op.role === 'owner' && trusted.has(op.author)) mayOwn.add(op.target)
  for (const [device, record] of list) {
    if (record.role === 'owner')
      expect(mayOwn.has(device), `owner ${device.slice(0, 8)} has no chain`).toBe(true)
  }
  for (const b of byzantine) {
    if (!trusted.has(b.key)) expect(first.get(b.key)?.role).not.toBe('owner')
  }
  for (const op of stored) if (first.isValid(op.id)) expect(mayOwn.has(op.author)).toBe(true)

  // Reference model, on the simple cases: an honest change o that follows every other stored change to
  // its target, with nothing that could count concurrent with it (every concurrent op is by a device
  // that could never be owner) and no equivocator among those that could in its past, is in effect.
  const ancestors = new Map<string, Set<string>>()
  const pastOf = (id: string): Set<string> => {
    let out = ancestors.get(id)
    if (out) return out
    out = new Set()
    for (const p of allOps.get(id)?.parents ?? []) {
      out.add(p)
      for (const a of pastOf(p)) out.add(a)
    }
    ancestors.set(id, out)
    return out
  }
  const forked = new Set(byzantine.filter((b) => b.equivocated).map((b) => b.key))
  for (const o of honestOps) {
    if (o.kind !== 'change') continue
    const past = pastOf(o.id)
    const concurrent = stored.filter((op) => op.id !== o.id && !past.has(op.id) && !pastOf(op.id).has(o.id))
    if (stored.some((op) => op.target === o.target && op.id !== o.id && !past.has(op.id))) continue
    if (concurrent.some((op) => mayOwn.has(op.author))) continue
    if (stored.some((op) => past.has(op.id) && forked.has(op.author) && mayOwn.has(op.author))) continue
    stats.referenceChecks++
    expect(first.isValid(o.id), 'reference: honest change in effect').toBe(true)
    expect(first.get(o.target), 'reference: its record shown').toEqual({ role: o.role, name: o.name })
  }

  // The rules on concurrency, over the ops that count. Least privilege wins: a device's record is the
  // least privileged of the changes to it that no other change to it follows. Removal wins: no op
  // counts that is concurrent with a change taking its author's owner rights.
  const counted = stored.filter((op) => first.isValid(op.id))
  const concurrentOps = (a: MemberOp, b: MemberOp): boolean =>
    a.id !== b.id && !pastOf(a.id).has(b.id) && !pastOf(b.id).has(a.id)
  for (const [device, record] of list) {
    const changes = counted.filter((op) => op.target === device)
    const heads = changes.filter((op) => !changes.some((other) => pastOf(other.id).has(op.id)))
    const least = Math.min(...heads.map((op) => privilege(op.role)))
    expect(privilege(record.role), 'least privilege among concurrent changes').toBe(least)
    if (heads.length === 1) expect(record.name).toBe(heads[0]!.name)
  }
  for (const op of counted) {
    const demotion = counted.find((d) => d.target === op.author && d.role !== 'owner' && concurrentOps(d, op))
    expect(demotion, 'an op concurrent with its author’s demotion counts').toBeUndefined()
  }

  // A change made after the full exchange, once passed on, is in effect everywhere.
  const target = prng.pick(everyone.filter((d) => d !== root))
  const role = prng.pick(roles)
  remember(
    decode(
      logOf(root).change(root.key, root.sign, { target: target.key, role, name: 'last', time: ++clock }),
    ),
  )
  exchange()
  for (const log of honestLogs) expect(log.get(target.key)).toEqual({ role, name: 'last' })
  stats.honestOps += honestOps.length + 1
}

function runSeeds(seeds: number[]): SeedStats {
  const stats: SeedStats = { honestOps: 0, byzantineOps: 0, referenceChecks: 0 }
  for (const seed of seeds) {
    try {
      runSeed(seed, stats)
    } catch (e) {
      const rerun = `MESHPAD_SEED=${seed} npx vitest run test/shared/members/byzantine.property.test.ts`
      const message = e instanceof Error ? e.message : String(e)
      throw new Error(`seed ${seed} failed: ${message}\nrerun: ${rerun}`, { cause: e })
    }
  }
  return stats
}

describe('members under Byzantine devices (seeded)', () => {
  const seeds = ONE_SEED !== undefined ? [ONE_SEED] : Array.from({ length: SEEDS }, (_, i) => i + 1)
  const chunks: number[][] = []
  for (let i = 0; i < seeds.length; i += CHUNK) chunks.push(seeds.slice(i, i + CHUNK))

  it.each(chunks.map((c) => [c[0]!, c.at(-1)!, c] as const))(
    'seeds %i–%i: honest replicas agree, authority comes from the root, honest changes hold',
    (_from, _to, chunk) => {
      const stats = runSeeds(chunk)
      // The scenarios must exercise something: honest changes, attacks, and reference checks.
      expect(stats.honestOps).toBeGreaterThan(chunk.length * 2)
      expect(stats.byzantineOps).toBeGreaterThan(chunk.length)
      if (chunk.length >= 50) expect(stats.referenceChecks).toBeGreaterThan(chunk.length)
    },
  )
})
