/**
 * The `crdt` benchmark's report (bench/crdt.ts measures): the table of medians, spreads and ratios to
 * Meshpad, its footnotes, and the issue 14 goals, judged from the same fresh-process figures and
 * nothing else.
 */
import { CRDT_NAMES, MESHPAD, MESHPAD_SNAPSHOT } from './crdt-libs'
import { summarize } from './stats'

const MB = 1024 * 1024
/** Issue 14's goals for Meshpad; the replay ones are relative to json-joy and diamond-types. */
const GOALS = { loadMs: 20, heapMB: 2, snapshotBytes: 108_997, keystrokeBytes: 19, dtReplayFactor: 2 }

/** One contender's figures, one entry per round (keystroke bytes: one entry); empty where n/a. */
export interface Series {
  readonly replayMs: number[]
  readonly saveBytes: number[]
  readonly loadMs: number[]
  readonly heapUsed: number[]
  readonly external: number[]
  readonly keystrokeBytes: number[]
}

export const newSeries = (): Series => ({
  replayMs: [],
  saveBytes: [],
  loadMs: [],
  heapUsed: [],
  external: [],
  keystrokeBytes: [],
})

interface Metric {
  /** The row's name, with its unit in parentheses. */
  readonly label: string
  readonly unit: string
  readonly values: (s: Series) => readonly number[]
  readonly format: (v: number) => string
}

const fixed = (digits: number) => (v: number) => v.toFixed(digits)
const metric = {
  replay: { label: 'replay, all edits (ms) ³', unit: 'ms', values: (s) => s.replayMs, format: fixed(0) },
  save: {
    label: 'save() size (bytes) ⁴',
    unit: 'bytes',
    values: (s) => s.saveBytes,
    format: (v) => v.toLocaleString('en-US'),
  },
  load: { label: 'load() + read text (ms)', unit: 'ms', values: (s) => s.loadMs, format: fixed(1) },
  heap: {
    label: 'memory of loaded doc (MB) ¹',
    unit: 'MB',
    values: (s) => s.heapUsed.map((h, i) => (h + s.external[i]!) / MB),
    format: fixed(2),
  },
  keystroke: {
    label: 'bytes per keystroke batch ²',
    unit: 'bytes',
    values: (s) => s.keystrokeBytes,
    format: fixed(2),
  },
} satisfies Record<string, Metric>
/** The table's rows, in this order. */
const metrics: Metric[] = Object.values(metric)

function ratio(a: number, b: number): string {
  const r = a / b
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`
}

/** One row per metric and contender: median, spread (one value when every run agrees), Meshpad ÷ it. */
export function printTable(names: readonly string[], all: Map<string, Series>, withMeshpad: boolean): void {
  const rows = [['', 'contender', 'median', 'min–max', withMeshpad ? 'Meshpad ÷ it' : '']]
  for (const m of metrics) {
    const mine = withMeshpad ? m.values(all.get(MESHPAD)!) : []
    let first = true
    for (const name of names) {
      const xs = m.values(all.get(name)!)
      if (xs.length === 0) continue
      const s = summarize(xs)
      const range = s.min === s.max ? '' : `${m.format(s.min)}–${m.format(s.max)}`
      // No ratio to a figure that prints as zero (the memory of a state loaded and only read is within
      // the measurement's noise): it would be a size divided by noise.
      const zero = Number(m.format(s.median).replace(/,/g, '')) === 0
      const vs = name === MESHPAD || mine.length === 0 || zero ? '' : ratio(summarize(mine).median, s.median)
      rows.push([first ? m.label : '', name, m.format(s.median), range, vs])
      first = false
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const align = (cell: string, i: number) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))
  for (const row of rows) console.log(row.map(align).join(' | ').trimEnd())
}

/** Megabytes with two decimals, without printing a few freed kilobytes as "-0.00". */
const mb = (bytes: number): string => (Math.abs(bytes) < MB / 200 ? 0 : bytes / MB).toFixed(2)

export function printFootnotes(names: readonly string[], all: Map<string, Series>): void {
  const split = names
    .filter((name) => CRDT_NAMES.includes(name))
    .map((name) => {
      const s = all.get(name)!
      return `${name} ${mb(summarize(s.heapUsed).median)} + ${mb(summarize(s.external).median)}`
    })
  console.log(
    '¹ Growth of process.memoryUsage().heapUsed plus growth of .external (ArrayBuffer backing stores and, for\n' +
      '  diamond-types, its wasm linear memory, which grows in 64 KiB pages and never shrinks) across load(),\n' +
      '  after forced GCs, with the document still referenced; MB = 2^20 bytes. Median heap + external MB:\n' +
      `  ${split.join(', ')}.`,
  )
  console.log(
    '² Mean size of the update one edit produces: Meshpad the returned batch, yjs the updateV2 event of a\n' +
      '  one-edit transaction, json-joy api.flush().toBinary(), diamond-types getPatchSince(version before).\n' +
      "  Deterministic (fixed replica IDs; Meshpad's batches carry no time): measured once, in round 1,\n" +
      "  after that round's replay was timed.",
  )
  console.log(
    "³ A cold process's first replay: edits only; the text is read and checked afterwards. Meshpad's\n" +
      "  localInsert/localDelete return each edit's encoded batch, so its replay includes encoding them;\n" +
      "  json-joy's appends every edit to its (unflushed) patch builder, as json-joy's own trace benchmark\n" +
      '  does; yjs and diamond-types encode nothing.',
  )
  console.log(
    "⁴ Meshpad's save() keeps each op's wall-clock second (op history), so its size varies by a few bytes\n" +
      '  with how long the replay took; a replay stamps all the edits within a second or so, where typing them\n' +
      "  took far longer. The other libraries' sizes do not depend on the clock.\n" +
      '  Meshpad snapshot is the state form the app writes to disk and opens (saveState/loadState): the\n' +
      '  document as it is (text and spans), with its whole history alongside (the ops by position, and\n' +
      '  the text each delete removed), all compressed; the goals for snapshot size, load and memory are\n' +
      "  judged on it. Meshpad compresses (brotli) and inflates through Node's zlib, as the app's main\n" +
      '  process does (src/main/storage/native-zlib.ts).',
  )
}

/** The issue 14 goals, judged only from the fresh-process medians printed above. */
export function printGoals(all: Map<string, Series>, withMeshpad: boolean): void {
  const med = (name: string, pick: (s: Series) => readonly number[]) => summarize(pick(all.get(name)!)).median
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET')
  console.log('Goals for Meshpad (issue 14), from the fresh-process medians above:')
  if (!withMeshpad) {
    console.log('  n/a: no Meshpad TextDoc yet')
    return
  }
  const replay = med(MESHPAD, (s) => s.replayMs)
  const jj = med('json-joy', (s) => s.replayMs)
  const dt = med('diamond-types', (s) => s.replayMs)
  /**
   * A goal that Meshpad's median must stay under, shown as the table shows that metric: snapshot size,
   * load and memory as the app stores and opens a document (the state form), the rest as sent.
   */
  const under = (m: Metric, limit: number, goal: string, form = MESHPAD) => {
    const v = med(form, m.values)
    return `${goal}: ${verdict(v < limit)} (${m.format(v)} ${m.unit}${form === MESHPAD ? '' : `, ${form}`})`
  }
  const lines = [
    `replay no slower than json-joy's: ${verdict(replay <= jj)} (${replay.toFixed(0)} vs ${jj.toFixed(0)} ms)`,
    `stretch, replay within ${GOALS.dtReplayFactor}× of diamond-types': ` +
      `${verdict(replay <= GOALS.dtReplayFactor * dt)} (${ratio(replay, dt)} its ${dt.toFixed(0)} ms)`,
    under(metric.load, GOALS.loadMs, `load + read text under ${GOALS.loadMs} ms`, MESHPAD_SNAPSHOT),
    under(metric.heap, GOALS.heapMB, `memory of loaded doc under ${GOALS.heapMB} MB`, MESHPAD_SNAPSHOT),
    under(
      metric.save,
      GOALS.snapshotBytes,
      `snapshot under ${GOALS.snapshotBytes.toLocaleString('en-US')} bytes`,
      MESHPAD_SNAPSHOT,
    ),
    under(metric.keystroke, GOALS.keystrokeBytes, `under ${GOALS.keystrokeBytes} bytes per keystroke batch`),
  ]
  for (const line of lines) console.log(`  ${line}`)
}
