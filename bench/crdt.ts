/**
 * `npm run bench -- crdt`: Meshpad's TextDoc side by side with yjs, json-joy, diamond-types and a plain
 * JS string on a real keystroke trace: local replay time, save size, load time, memory of a loaded
 * document and bytes sent per keystroke. Timings are medians of RUNS runs in one process, libraries in
 * a rotating order; memory is measured in a fresh child process per run (bench/crdt-heap.ts).
 */
import { fork } from 'node:child_process'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import type { HeapRequest, HeapResult } from './crdt-heap'
import {
  crdtLibs,
  isCrdt,
  loadTrace,
  meshpad,
  plainString,
  type CrdtLib,
  type Replayer,
  type Trace,
} from './crdt-libs'
import type { BenchSuite } from './suites'

const RUNS = 5
/** Edits in the small document that the heap probe loads first to warm up. */
const WARMUP_EDITS = 2000
const HEAP_PROBE = fileURLToPath(new URL('./crdt-heap.ts', import.meta.url))
const TARGETS = { loadMs: 20, keystrokeBytes: 19 }

/** What one library scored; undefined where the metric does not apply (the string baseline). */
interface Scores {
  replayMs: number
  saveBytes?: number
  loadMs?: number
  /** Every run's timings, to show the spread around the medians. */
  runs: readonly Run[]
  heapUsed?: number
  external?: number
  keystrokeBytes?: number
}

interface Run {
  replayMs: number
  saved?: Uint8Array
  loadMs?: number
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Collects garbage left by the previous step, so that it is not collected during the next timing. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc!()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

function checkText(lib: Replayer<unknown>, step: string, actual: string, expected: string): void {
  if (actual === expected) return
  let i = 0
  while (i < actual.length && actual.charCodeAt(i) === expected.charCodeAt(i)) i++
  throw new Error(
    `${lib.name}: text after ${step} differs from endContent at index ${i} ` +
      `(length ${actual.length}, expected ${expected.length})`,
  )
}

/** Times one replay of the whole trace and, for a CRDT, saves the result. The document dies on return. */
function replayOnce(lib: Replayer<unknown>, trace: Trace): Run {
  const start = performance.now()
  const doc = lib.replay(trace)
  const replayMs = performance.now() - start
  checkText(lib, 'replay', lib.text(doc), trace.endContent)
  const saved = isCrdt(lib) ? lib.save(doc) : undefined
  lib.free?.(doc)
  return { replayMs, saved }
}

/** Times one load of saved bytes, up to reading the text once. */
function loadOnce(lib: CrdtLib<unknown>, saved: Uint8Array, trace: Trace): number {
  const start = performance.now()
  const doc = lib.load(saved)
  const text = lib.text(doc)
  const loadMs = performance.now() - start
  checkText(lib, 'load', text, trace.endContent)
  lib.free?.(doc)
  return loadMs
}

/** One replay, save and load of the whole trace, each timing after a full GC. */
async function runOnce(lib: Replayer<unknown>, trace: Trace): Promise<Run> {
  await settle()
  const run = replayOnce(lib, trace)
  if (!isCrdt(lib) || !run.saved) return run
  await settle()
  return { ...run, loadMs: loadOnce(lib, run.saved, trace) }
}

function measureHeap(req: HeapRequest): Promise<HeapResult> {
  return new Promise((resolve, reject) => {
    const child = fork(HEAP_PROBE, [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      serialization: 'advanced',
    })
    let result: HeapResult | undefined
    child.once('message', (msg: HeapResult) => (result = msg))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code === 0 && result) resolve(result)
      else reject(new Error(`The heap probe for ${req.lib} exited with code ${code}.`))
    })
    child.send(req)
  })
}

/** Whether src/shared/crdt has its TextDoc yet, or still the stub that throws 'not implemented'. */
function meshpadLanded(): boolean {
  try {
    meshpad.replay({ name: 'probe', patches: [[0, 0, 'x']], endContent: 'x' })
    return true
  } catch (err) {
    if (err instanceof Error && err.message === 'not implemented') return false
    throw err
  }
}

async function measureAll(libs: readonly Replayer<unknown>[], trace: Trace): Promise<Map<string, Scores>> {
  for (const lib of libs) await runOnce(lib, trace) // warm-up
  const runs = new Map(libs.map((lib) => [lib.name, [] as Run[]]))
  for (let r = 0; r < RUNS; r++) {
    const order = [...libs.slice(r % libs.length), ...libs.slice(0, r % libs.length)]
    for (const lib of order) runs.get(lib.name)!.push(await runOnce(lib, trace))
  }
  const prefix: Trace = { ...trace, patches: trace.patches.slice(0, WARMUP_EDITS) }
  const scores = new Map<string, Scores>()
  for (const lib of libs) {
    const own = runs.get(lib.name)!
    const score: Scores = { replayMs: median(own.map((r) => r.replayMs)), runs: own }
    scores.set(lib.name, score)
    if (!isCrdt(lib)) continue
    const saved = own.map((r) => r.saved!)
    score.saveBytes = median(saved.map((b) => b.length))
    score.loadMs = median(own.map((r) => r.loadMs!))
    // Separate pass, after the timings: the encoding per edit would distort them.
    score.keystrokeBytes = lib.keystrokeBytes(trace)
    const small = lib.replay(prefix)
    const warmup = lib.save(small)
    lib.free?.(small)
    const heaps: HeapResult[] = []
    for (const bytes of saved) {
      heaps.push(await measureHeap({ lib: lib.name, bytes, warmup, endContent: trace.endContent }))
    }
    score.heapUsed = median(heaps.map((h) => h.heapUsed))
    score.external = median(heaps.map((h) => h.external))
  }
  return scores
}

const MB = 1024 * 1024
const heapOf = (s: Scores): number | undefined =>
  s.heapUsed === undefined ? undefined : (s.heapUsed + s.external!) / MB

interface Metric {
  readonly label: string
  value(s: Scores): number | undefined
  format(v: number): string
}

const metrics: Metric[] = [
  { label: 'replay, all edits (ms) ³', value: (s) => s.replayMs, format: (v) => v.toFixed(1) },
  { label: 'save() size (bytes)', value: (s) => s.saveBytes, format: (v) => v.toLocaleString('en-US') },
  { label: 'load() + read text (ms)', value: (s) => s.loadMs, format: (v) => v.toFixed(1) },
  { label: 'memory of loaded doc (MB) ¹', value: heapOf, format: (v) => v.toFixed(2) },
  { label: 'bytes per keystroke batch ²', value: (s) => s.keystrokeBytes, format: (v) => v.toFixed(2) },
]

function ratio(a: number, b: number): string {
  const r = a / b
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`
}

function printTable(
  libs: readonly Replayer<unknown>[],
  scores: Map<string, Scores>,
  withMeshpad: boolean,
): void {
  const header = ['', ...libs.map((l) => l.name)]
  if (withMeshpad) header.push('Meshpad ÷ library')
  const rows = metrics.map((m) => {
    const cells = libs.map((lib) => {
      const v = m.value(scores.get(lib.name)!)
      return v === undefined ? '—' : m.format(v)
    })
    const mine = withMeshpad ? m.value(scores.get(meshpad.name)!) : undefined
    const ratios = libs
      .filter((lib) => lib !== meshpad)
      .flatMap((lib) => {
        const theirs = m.value(scores.get(lib.name)!)
        return mine === undefined || theirs === undefined ? [] : [`${ratio(mine, theirs)} ${lib.name}`]
      })
    return withMeshpad ? [m.label, ...cells, ratios.join(', ')] : [m.label, ...cells]
  })
  const table = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const line = (row: string[]) =>
    row.map((cell, i) =>
      i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
    )
  for (const row of table) console.log(line(row).join(' | ').trimEnd())
}

/** Megabytes with two decimals, without printing a few freed kilobytes as "-0.00". */
const mb = (bytes: number): string => (Math.abs(bytes) < MB / 200 ? 0 : bytes / MB).toFixed(2)

function printFootnotes(libs: readonly CrdtLib<unknown>[], scores: Map<string, Scores>): void {
  const split = libs.map((lib) => {
    const s = scores.get(lib.name)!
    return `${lib.name} ${mb(s.heapUsed!)} + ${mb(s.external!)}`
  })
  console.log(
    '¹ Growth of process.memoryUsage().heapUsed plus growth of .external (ArrayBuffer backing stores and, for\n' +
      '  diamond-types, its wasm linear memory, which grows in 64 KiB pages and never shrinks) across load(),\n' +
      `  after forced GCs, with the document still referenced; a fresh process per run. heap + external MB:\n` +
      `  ${split.join(', ')}.`,
  )
  console.log(
    '² Mean size of the update one edit produces: Meshpad the returned batch, yjs the updateV2 event of a\n' +
      '  one-edit transaction, json-joy api.flush().toBinary(), diamond-types getPatchSince(version before).\n' +
      '  One pass apart from the timings; deterministic (fixed replica IDs).',
  )
  console.log(
    "³ Edits only; the text is read and checked afterwards. Meshpad's localInsert/localDelete return each\n" +
      "  edit's encoded batch, so its replay includes encoding them; json-joy's appends every edit to its\n" +
      "  (unflushed) patch builder, as json-joy's own trace benchmark does; yjs and diamond-types encode nothing.",
  )
}

function printSpread(libs: readonly Replayer<unknown>[], scores: Map<string, Scores>): void {
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`
  const spread = (label: string, time: (r: Run) => number | undefined) =>
    `  ${label}: ` +
    libs
      .flatMap((lib) => {
        const xs = scores.get(lib.name)!.runs.flatMap((r) => time(r) ?? [])
        return xs.length > 0 ? [`${lib.name} ${range(xs)}`] : []
      })
      .join(', ')
  console.log(`Spread of the ${RUNS} runs (min–max ms):`)
  console.log(spread('replay', (r) => r.replayMs))
  console.log(spread('load', (r) => r.loadMs))
}

function printTargets(scores: Map<string, Scores>, withMeshpad: boolean): void {
  const mine = withMeshpad ? scores.get(meshpad.name) : undefined
  const of = (name: string) => scores.get(name)!
  /** One target: Meshpad's figure must be below `limit`. */
  const target = (label: string, value: (s: Scores) => number, limit: number, unit: string) => {
    if (!mine) return `${label}: n/a`
    const v = value(mine)
    return `${label}: ${v < limit ? 'met' : 'NOT MET'} (${+v.toFixed(2)} vs ${+limit.toFixed(2)} ${unit})`
  }
  console.log('Targets for Meshpad:')
  const lines = [
    target('replay faster than json-joy', (s) => s.replayMs, of('json-joy').replayMs, 'ms'),
    target('save smaller than diamond-types', (s) => s.saveBytes!, of('diamond-types').saveBytes!, 'bytes'),
    target(`load under ${TARGETS.loadMs} ms`, (s) => s.loadMs!, TARGETS.loadMs, 'ms'),
    target(
      `fewer than ${TARGETS.keystrokeBytes} bytes per keystroke batch`,
      (s) => s.keystrokeBytes!,
      TARGETS.keystrokeBytes,
      'bytes',
    ),
  ]
  for (const line of lines) console.log(`  ${line}`)
}

export const crdtSuite: BenchSuite = {
  name: 'crdt',
  description: 'text CRDTs replaying a real keystroke trace: time, size, memory',
  async run() {
    const trace = loadTrace()
    const withMeshpad = meshpadLanded()
    const libs: Replayer<unknown>[] = [...crdtLibs.filter((l) => withMeshpad || l !== meshpad), plainString]
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
    console.log(
      `Node ${process.version}, ${os.availableParallelism()} × ${cpu}; median of ${RUNS} runs after one warm-up, ` +
        `libraries in rotating order`,
    )
    console.log(
      `Trace ${trace.name}: ${trace.patches.length.toLocaleString('en-US')} edits → ` +
        `${trace.endContent.length.toLocaleString('en-US')} chars`,
    )
    if (!withMeshpad)
      console.log('Meshpad TextDoc is still the stub (throws "not implemented"): libraries only.')
    const scores = await measureAll(libs, trace)
    console.log('')
    printTable(libs, scores, withMeshpad)
    printFootnotes(libs.filter(isCrdt), scores)
    printSpread(libs, scores)
    printTargets(scores, withMeshpad)
  },
}
