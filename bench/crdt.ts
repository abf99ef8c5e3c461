/**
 * `npm run bench -- crdt`: Meshpad's TextDoc side by side with yjs, json-joy, diamond-types and a plain
 * JS string on a real keystroke trace: replay time, save size, load time, memory of a loaded document
 * and bytes sent per keystroke, each contender's median and spread (min–max) over RUNS rounds, with the
 * issue 14 goals judged from those same figures.
 *
 * Every figure comes from a fresh process (bench/fresh-process.ts says why; bench/crdt-child.ts does
 * the measuring, importing only the library it measures; bench/crdt-report.ts prints). Per contender
 * and round, three children:
 *   1. replay: times one cold replay of the whole trace (no warm-up run: each contender's JIT warm-up
 *      is part of its time), then saves the document to a temp file;
 *   2. load: a new process, so that the replay has not warmed the JIT for loading, times load() of
 *      those bytes plus reading the text once;
 *   3. heap: a new process again, measures the memory the loaded document keeps (after loading a small
 *      document first, so that the memory of compiling the load path is not counted).
 * Rounds rotate the contenders (round 1: A B C D E, round 2: B C D E A, …), so that none always runs
 * first or last while the machine's load changes. Bytes per keystroke are deterministic (fixed replica
 * IDs), so they are measured once, in round 1, after that replay's timing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildRequest, HeapResult, LoadResult, ReplayResult } from './crdt-child'
import { CRDT_NAMES, loadCrdt, loadTrace, MESHPAD, MESHPAD_SNAPSHOT, plainString } from './crdt-libs'
import { benchRuns, runFresh } from './fresh-process'
import { newSeries, printFootnotes, printGoals, printTable, type Series } from './crdt-report'
import { rotation } from './stats'
import type { BenchSuite } from './suites'

/** Rounds unless MESHPAD_BENCH_RUNS says otherwise; fewer than 5 makes the median a guess. */
const RUNS = 5
const CHILD = fileURLToPath(new URL('./crdt-child.ts', import.meta.url))

/** Whether src/shared/crdt has its TextDoc yet, or still the stub that throws 'not implemented'. */
async function meshpadLanded(): Promise<boolean> {
  const meshpad = await loadCrdt(MESHPAD)
  try {
    meshpad.replay({ name: 'probe', patches: [[0, 0, 'x']], endContent: 'x' })
    return true
  } catch (err) {
    if (err instanceof Error && err.message === 'not implemented') return false
    throw err
  }
}

/** The 1-minute load average: on a shared machine, other work there widens the spread. */
const loadAverage = (): string => os.loadavg()[0]!.toFixed(1)

const ask = <T>(req: ChildRequest): Promise<T> => runFresh<T>(CHILD, req)

/** The three children of one contender in one round, one after the other. */
async function measure(name: string, round: number, dir: string, series: Series): Promise<void> {
  const file = (what: string) => path.join(dir, `${name}-${round}-${what}.bin`)
  const replay = await ask<ReplayResult>({
    metric: 'replay',
    library: name,
    saveTo: file('saved'),
    warmupTo: file('warmup'),
    keystrokes: round === 0 && name !== MESHPAD_SNAPSHOT, // the same batches as Meshpad's
  })
  series.replayMs.push(replay.replayMs)
  if (!CRDT_NAMES.includes(name)) return
  series.saveBytes.push(replay.saveBytes!)
  if (replay.keystrokeBytes !== undefined) series.keystrokeBytes.push(replay.keystrokeBytes)
  const expected = path.join(dir, 'expected.txt')
  const load = await ask<LoadResult>({ metric: 'load', library: name, from: file('saved'), expected })
  series.loadMs.push(load.loadMs)
  const heap = await ask<HeapResult>({
    metric: 'heap',
    library: name,
    from: file('saved'),
    warmup: file('warmup'),
    expected,
  })
  series.heapUsed.push(heap.heapUsed)
  series.external.push(heap.external)
}

async function measureAll(
  names: readonly string[],
  endContent: string,
  runs: number,
): Promise<Map<string, Series>> {
  const all = new Map(names.map((name) => [name, newSeries()]))
  const dir = await mkdtemp(path.join(os.tmpdir(), 'meshpad-bench-crdt-'))
  try {
    await writeFile(path.join(dir, 'expected.txt'), endContent)
    for (let round = 0; round < runs; round++) {
      const started = performance.now()
      const order = rotation(names, round)
      for (const name of order) await measure(name, round, dir, all.get(name)!)
      const replays = order.map((name) => `${name} ${all.get(name)!.replayMs.at(-1)!.toFixed(0)}`)
      const secs = ((performance.now() - started) / 1000).toFixed(0)
      console.log(`  round ${round + 1}/${runs} (${secs} s), replay ms: ${replays.join(', ')}`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return all
}

export const crdtSuite: BenchSuite = {
  name: 'crdt',
  description: 'text CRDTs replaying a real keystroke trace, each measurement in a fresh process',
  async run() {
    const trace = loadTrace()
    const withMeshpad = await meshpadLanded()
    const names = [
      ...CRDT_NAMES.filter((name) => withMeshpad || (name !== MESHPAD && name !== MESHPAD_SNAPSHOT)),
      plainString.name,
    ]
    const runs = benchRuns(RUNS)
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
    console.log(
      `Node ${process.version}, ${os.availableParallelism()} × ${cpu}, load average ${loadAverage()}; ` +
        `every figure from a fresh process, ${runs} round${runs === 1 ? '' : 's'} (MESHPAD_BENCH_RUNS), ` +
        'contenders rotated each round',
    )
    console.log(
      `Trace ${trace.name}: ${trace.patches.length.toLocaleString('en-US')} edits → ` +
        `${trace.endContent.length.toLocaleString('en-US')} chars`,
    )
    if (!withMeshpad)
      console.log('Meshpad TextDoc is still the stub (throws "not implemented"): libraries only.')
    const started = performance.now()
    const all = await measureAll(names, trace.endContent, runs)
    const secs = ((performance.now() - started) / 1000).toFixed(0)
    console.log(`Measured in ${secs} s; load average ${loadAverage()}.\n`)
    printTable(names, all, withMeshpad)
    printFootnotes(names, all)
    printGoals(all, withMeshpad)
  },
}
