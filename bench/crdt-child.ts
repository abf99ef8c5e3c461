/**
 * One measurement of the `crdt` benchmark, in a fresh process (bench/fresh-process.ts says why and how):
 *
 *   replay  replays the whole trace once, cold (no warm-up run: every contender pays its own JIT
 *           warm-up, and only its own), and times it; then, untimed, saves the document and a short
 *           prefix of it to files for the load and heap children, and, if asked, measures bytes
 *           per keystroke.
 *   load    loads those saved bytes and reads the text once, timed, cold: a replay in the same
 *           process would already have compiled much of the code that loading runs.
 *   heap    loads a small document first (so that compiling the load path is not counted), then
 *           measures how much memory the loaded full document keeps. A process of its own also
 *           because diamond-types' wasm memory never shrinks: a document loaded after a replay
 *           fits in memory the replay freed.
 *
 * Every child checks the text it gets against the trace's end content.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { isCrdt, loadContender, loadCrdt, loadTrace, type Replayer } from './crdt-libs'
import { answer } from './fresh-process'
import { settle } from './settle'

/** Edits in the small document that the heap child loads first to warm up. */
const WARMUP_EDITS = 2000

export type ChildRequest =
  | {
      readonly metric: 'replay'
      readonly library: string
      readonly saveTo: string
      readonly warmupTo: string
      /** Also measure bytes per keystroke (after the timing; deterministic, so one round does). */
      readonly keystrokes: boolean
    }
  | { readonly metric: 'load'; readonly library: string; readonly from: string; readonly expected: string }
  | {
      readonly metric: 'heap'
      readonly library: string
      readonly from: string
      readonly warmup: string
      readonly expected: string
    }

/** What a replay child reports; the CRDT-only fields are missing for the string baseline. */
export interface ReplayResult {
  readonly replayMs: number
  readonly saveBytes?: number
  readonly keystrokeBytes?: number
}

export interface LoadResult {
  readonly loadMs: number
}

/** Growth across the load, in bytes, after forced GCs. `external` includes ArrayBuffers and wasm memory. */
export interface HeapResult {
  readonly heapUsed: number
  readonly external: number
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

async function replay(
  library: string,
  saveTo: string,
  warmupTo: string,
  keystrokes: boolean,
): Promise<ReplayResult> {
  const lib = await loadContender(library)
  const trace = loadTrace()
  await settle()
  const start = performance.now()
  const doc = lib.replay(trace)
  const replayMs = performance.now() - start
  checkText(lib, 'replay', lib.text(doc), trace.endContent)
  if (!isCrdt(lib)) return { replayMs }
  const saved = lib.save(doc)
  lib.free?.(doc)
  writeFileSync(saveTo, saved)
  const small = lib.replay({ ...trace, patches: trace.patches.slice(0, WARMUP_EDITS) })
  writeFileSync(warmupTo, lib.save(small))
  lib.free?.(small)
  // After the timing is taken: these byte counts are deterministic, whatever the JIT did.
  const keystrokeBytes = keystrokes ? lib.keystrokeBytes(trace) : undefined
  return { replayMs, saveBytes: saved.length, keystrokeBytes }
}

async function load(library: string, from: string, expected: string): Promise<LoadResult> {
  const lib = await loadCrdt(library)
  const bytes = new Uint8Array(readFileSync(from))
  const endContent = readFileSync(expected, 'utf8')
  await settle()
  const start = performance.now()
  const doc = lib.load(bytes)
  const text = lib.text(doc)
  const loadMs = performance.now() - start
  checkText(lib, 'load', text, endContent)
  lib.free?.(doc)
  return { loadMs }
}

/** The loaded document (and its bytes) stay referenced here until the process exits. */
const retained: unknown[] = []

async function heap(library: string, from: string, warmup: string, expected: string): Promise<HeapResult> {
  const lib = await loadCrdt(library)
  const bytes = new Uint8Array(readFileSync(from))
  const endContent = readFileSync(expected, 'utf8')
  const warm = lib.load(new Uint8Array(readFileSync(warmup)))
  lib.text(warm)
  lib.free?.(warm)
  await settle()
  const before = process.memoryUsage()
  const doc = lib.load(bytes)
  retained.push(bytes, doc) // the bytes too: freeing them would offset the document's growth
  checkText(lib, 'load', lib.text(doc), endContent)
  await settle()
  const after = process.memoryUsage()
  return { heapUsed: after.heapUsed - before.heapUsed, external: after.external - before.external }
}

answer<ChildRequest, ReplayResult | LoadResult | HeapResult>((req) => {
  switch (req.metric) {
    case 'replay':
      return replay(req.library, req.saveTo, req.warmupTo, req.keystrokes)
    case 'load':
      return load(req.library, req.from, req.expected)
    case 'heap':
      return heap(req.library, req.from, req.warmup, req.expected)
  }
})
