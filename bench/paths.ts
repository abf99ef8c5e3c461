/**
 * `npm run bench -- paths`: the paths issue 14 found quadratic, each beside its fast counterpart.
 *
 * - The concurrent traces (friendsforever, clownschool) as one batch per edit, applied to a fresh
 *   replica in causal order and in seeded random orders (as after a partition with several relays):
 *   random order parks most ops until their dependencies arrive.
 * - 20,000 one-character inserts at one place (between the same two characters): typed by one
 *   replica, or one each by 20,000 replicas (true ties, ordered by replica ID), applied by a receiver
 *   in a seeded random order.
 *
 * Only applying the batches is timed (they are made beforehand). Medians of RUNS runs with min–max, in
 * this one process: it compares Meshpad with itself, so a warm JIT and a shared heap affect both sides
 * of each pair alike. (A fresh process per measurement would be stricter.)
 */
import { TextDoc } from '../src/shared/crdt'
import { Prng } from '../test/shared/crdt/harness'
import { concurrentTraceBatches, type ConcurrentTraceName } from '../test/support/concurrent-traces'
import type { BenchSuite } from './suites'

const RUNS = 5
const SAME_PLACE_INSERTS = 20_000
/** Issue 14: random-order delivery within 2× of causal order; n replicas within 3× of one. */
const RANDOM_ORDER_RATIO = 2
const MANY_REPLICAS_RATIO = 3

interface Case {
  readonly label: string
  /** The batches to apply, in order; a fresh list per run (run = 0, 1, …). */
  batches(run: number): readonly Uint8Array[]
  readonly expected: (doc: TextDoc) => boolean
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc!()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Milliseconds to apply `batches` to a fresh replica; throws if the result is wrong. */
function applyAll(c: Case, batches: readonly Uint8Array[]): number {
  const start = performance.now()
  const doc = new TextDoc('receiver')
  for (const batch of batches) doc.applyRemote(batch)
  const ms = performance.now() - start
  if (!c.expected(doc) || doc.pendingCount() !== 0) throw new Error(`${c.label}: wrong result`)
  return ms
}

function traceCases(name: ConcurrentTraceName): Case[] {
  const { batches, endContent } = concurrentTraceBatches(name)
  const expected = (doc: TextDoc): boolean => doc.toString() === endContent
  return [
    { label: `${name}, ${batches.length} batches, causal order`, batches: () => batches, expected },
    {
      label: `${name}, ${batches.length} batches, random order`,
      batches: (run) => new Prng(run + 1).shuffle([...batches]),
      expected,
    },
  ]
}

/** `n` one-character inserts between the two characters of "[]", by one replica or by `n` replicas. */
function samePlaceCases(n: number): Case[] {
  const base = new TextDoc('base')
  const brackets = base.localInsert(0, '[]')
  const letter = (i: number): string => String.fromCharCode(97 + (i % 26))
  const typist = new TextDoc('typist')
  typist.applyRemote(brackets)
  const typed = [brackets, ...Array.from({ length: n }, (_, i) => typist.localInsert(1, letter(i)))]
  const ties = Array.from({ length: n }, (_, i) => {
    const doc = new TextDoc(`replica-${i}`)
    doc.applyRemote(brackets)
    return doc.localInsert(1, letter(i))
  })
  const length = (doc: TextDoc): boolean => doc.length === n + 2
  return [
    { label: `${n} inserts at one place, 1 replica`, batches: () => typed, expected: length },
    {
      label: `${n} inserts at one place, ${n} replicas`,
      batches: (run) => [brackets, ...new Prng(run + 1).shuffle([...ties])],
      expected: length,
    },
  ]
}

export const pathsSuite: BenchSuite = {
  name: 'paths',
  description: 'out-of-order delivery and many concurrent inserts at one place (issue 14)',
  async run() {
    const cases = [
      ...traceCases('friendsforever'),
      ...traceCases('clownschool'),
      ...samePlaceCases(SAME_PLACE_INSERTS),
    ]
    const width = Math.max(...cases.map((c) => c.label.length))
    console.log(`${'case'.padEnd(width)} | median ms | min–max ms (${RUNS} runs)`)
    const medians: number[] = []
    for (const c of cases) {
      const times: number[] = []
      for (let run = 0; run < RUNS; run++) {
        const batches = c.batches(run)
        await settle()
        times.push(applyAll(c, batches))
      }
      const range = `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)}`
      console.log(`${c.label.padEnd(width)} | ${median(times).toFixed(1).padStart(9)} | ${range}`)
      medians.push(median(times))
    }
    // Each case comes in a pair: its fast counterpart, then it.
    const goals = [
      ['friendsforever random / causal order', RANDOM_ORDER_RATIO],
      ['clownschool random / causal order', RANDOM_ORDER_RATIO],
      [`${SAME_PLACE_INSERTS} replicas / 1 replica at one place`, MANY_REPLICAS_RATIO],
    ] as const
    goals.forEach(([label, goal], i) => {
      const ratio = medians[2 * i + 1]! / medians[2 * i]!
      console.log(`  ${label}: ${ratio.toFixed(2)}× (goal < ${goal}×: ${ratio < goal ? 'met' : 'NOT MET'})`)
    })
  },
}
