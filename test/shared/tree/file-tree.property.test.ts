/**
 * Seeded property test of the file tree: 2–5 replicas with skewed clocks make random creates, moves,
 * renames, deletes and restores; batches go between random pairs, partly (a random subset, so some
 * ops park for missing earlier ones), reordered and over the wire form. After full delivery every
 * replica must have the same list, the same version, no op parked, every node placed with its
 * parent chain reaching the root or the trash, and distinct display paths; a fresh replica given
 * every op in one shuffled batch must agree too.
 *
 * Seeds: MESHPAD_SEEDS (default 1000) from 1, or one seed with MESHPAD_SEED.
 */
import { describe, expect, it } from 'vitest'
import { seededRandom, type Random } from '../../../src/shared/random'
import { FileTree } from '../../../src/shared/tree/file-tree'
import { ROOT, type TreeOp } from '../../../src/shared/tree/tree-ops'
import { checkNoCycles, send, syncAll } from './helpers'

const one = process.env.MESHPAD_SEED ? Number(process.env.MESHPAD_SEED) : undefined
const SEEDS = one !== undefined ? 1 : Number(process.env.MESHPAD_SEEDS ?? 1000)
const FIRST = one ?? 1

const NAMES = ['a', 'b', 'notes.md', 'notes (2).md', 'x.txt']
const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!

function shuffle<T>(rnd: Random, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

function runSeed(seed: number): void {
  const rnd = seededRandom(seed)
  let time = 1_000_000
  const n = 2 + Math.floor(rnd() * 4)
  const trees = Array.from({ length: n }, (_, i) => {
    const skew = Math.floor(rnd() * 50) - 25
    return new FileTree(`r${i}`, { clock: () => time + skew })
  })
  const ids = new Set<string>()
  const all: TreeOp[] = []
  const steps = 20 + Math.floor(rnd() * 40)
  for (let s = 0; s < steps; s++) {
    time += Math.floor(rnd() * 10)
    const t = pick(rnd, trees)
    if (rnd() < 0.2) {
      // Partial, reordered delivery from another replica.
      const from = pick(rnd, trees)
      if (from === t) continue
      const ops = shuffle(
        rnd,
        from.opsSince(t.version()).filter(() => rnd() < 0.6),
      )
      const cut = Math.floor(rnd() * (ops.length + 1))
      send(t, ops.slice(0, cut))
      send(t, ops.slice(cut))
      continue
    }
    const live = t.list()
    const folders = [ROOT, ...live.filter((e) => e.kind === 'folder').map((e) => e.id)]
    const known = [...ids].filter((id) => t.place(id) !== undefined)
    // Folders move more often than files: concurrent moves of folders are what could make cycles.
    const movable = known.filter((id) => t.place(id)!.kind === 'folder')
    const moved = (): string => pick(rnd, movable.length > 0 && rnd() < 0.7 ? movable : known)
    const r = rnd()
    try {
      if (r < 0.35 || known.length === 0) {
        const c = t.create(pick(rnd, folders), pick(rnd, NAMES), rnd() < 0.4 ? 'folder' : 'file')
        ids.add(c.id)
        all.push(c.op)
      } else if (r < 0.6)
        all.push(t.move(moved(), pick(rnd, folders), rnd() < 0.5 ? pick(rnd, NAMES) : undefined))
      else if (r < 0.75) all.push(t.rename(pick(rnd, known), pick(rnd, NAMES)))
      else if (r < 0.92) all.push(t.remove(pick(rnd, known)))
      else all.push(t.move(pick(rnd, known), ROOT, pick(rnd, NAMES))) // a restore, if it was deleted
    } catch (e) {
      if (!(e instanceof RangeError)) throw e // a move into its own subtree, refused locally
    }
  }
  syncAll(...trees)
  const fresh = new FileTree('fresh')
  send(fresh, shuffle(rnd, [...all]))
  const expected = JSON.stringify(trees[0]!.list())
  for (const t of [...trees, fresh]) {
    expect(JSON.stringify(t.list())).toBe(expected)
    expect(t.version()).toEqual(trees[0]!.version())
    expect(t.pendingCount()).toBe(0)
    checkNoCycles(t, ids) // also: every node ever made is placed (live or in the trash)
    const list = t.list()
    expect(new Set(list.map((e) => e.path)).size).toBe(list.length)
  }
}

describe('FileTree convergence (seeded)', () => {
  it(`converges for ${SEEDS} seeds from ${FIRST}`, () => {
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      try {
        runSeed(seed)
      } catch (e) {
        throw new Error(`seed ${seed} (MESHPAD_SEED=${seed}): ${(e as Error).message}`, { cause: e })
      }
    }
  })
})
