/**
 * Real editing traces (github.com/josephg/editing-traces, CC BY 4.0; see ../shared/traces/README.md)
 * through `TextDoc.saveState()` / `loadState()`: each trace is replayed twice, once plainly and once with
 * every replica replaced now and then by `loadState(saveState())` of itself, and the two runs must end
 * identical (text, version, history, changesSince, save()), the state of the end stable and its history
 * decoded only on demand.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { normalizeVersion } from './harness'

const TRACES = path.resolve(process.cwd(), '../shared/traces')

/** [position, characters deleted, text inserted]; both traces are BMP-only, so units = code points. */
type Patch = [number, number, string]

interface Trace {
  readonly startContent?: string
  readonly endContent: string
  readonly numAgents?: number
  readonly txns: readonly {
    readonly parents?: readonly number[]
    readonly agent?: number
    readonly patches: readonly Patch[]
  }[]
}

function readTrace(name: string): Trace {
  const file = path.join(TRACES, name)
  if (!existsSync(file)) throw new Error(`Editing trace ${file} is missing; see ../shared/traces/README.md`)
  const trace = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Trace
  if (/[\u{10000}-\u{10FFFF}]/u.test(JSON.stringify(trace.txns))) throw new Error('expected a BMP-only trace')
  return trace
}

function applyPatch(doc: TextDoc, [pos, del, ins]: Patch): Uint8Array[] {
  const batches: Uint8Array[] = []
  if (del > 0) batches.push(doc.localDelete(pos, del))
  if (ins.length > 0) batches.push(doc.localInsert(pos, ins))
  return batches
}

/** A clock that advances one second per call: history times differ, and typing merges as in life. */
function steadyClock(): () => number {
  let ms = 1_700_000_000_000
  return () => (ms += 1000)
}

/** Every observable that two runs of a trace must share. */
function expectSameDoc(actual: TextDoc, expected: TextDoc): void {
  expect(actual.toString()).toBe(expected.toString())
  expect(normalizeVersion(actual.version())).toEqual(normalizeVersion(expected.version()))
  expect(actual.pendingCount()).toBe(expected.pendingCount())
  expect(Buffer.compare(actual.changesSince({}), expected.changesSince({}))).toBe(0)
  expect(Buffer.compare(actual.save(), expected.save())).toBe(0)
  const history = expected.history()
  expect(JSON.stringify(actual.history()) === JSON.stringify(history)).toBe(true)
  for (const k of [1, history.length >> 3]) expect(actual.textAfter(k)).toBe(expected.textAfter(k))
}

/** Reloads `doc` from its state as the same replica, checking the state is stable. */
function reload(doc: TextDoc, clock: () => number): TextDoc {
  const state = doc.saveState()
  const loaded = TextDoc.loadState(state, doc.replica, { clock })
  const again = loaded.saveState()
  expect(Buffer.compare(again, state)).toBe(0)
  expect(loaded.toString()).toBe(doc.toString())
  return loaded
}

describe('editing traces through saveState/loadState', () => {
  it('automerge-paper: a replica reloaded every 20,000 edits ends as the one never reloaded', () => {
    const trace = readTrace('automerge-paper.json.gz')
    const run = (reloadEvery: number): TextDoc => {
      const clock = steadyClock()
      let doc = new TextDoc('author', { clock })
      if (trace.startContent) doc.localInsert(0, trace.startContent)
      let edits = 0
      for (const t of trace.txns) {
        for (const p of t.patches) {
          applyPatch(doc, p)
          if (++edits % reloadEvery === 0) doc = reload(doc, clock)
        }
      }
      return doc
    }
    const plain = run(Infinity)
    const reloaded = run(20_000)
    expect(plain.toString()).toBe(trace.endContent)
    // Peers in step get the empty batch at once, before anything decodes the history.
    const atEnd = TextDoc.loadState(plain.saveState(), 'fresh')
    expect(atEnd.changesSince(plain.version())).toEqual(plain.changesSince(plain.version()))
    expect(atEnd.toString()).toBe(trace.endContent)
    expectSameDoc(reloaded, plain)
    // The reloaded one's state differs only in where its history is cut into chunks (each kept as saved).
    expectSameDoc(TextDoc.loadState(reloaded.saveState(), 'author'), plain)
    expectSameDoc(TextDoc.loadState(plain.saveState(), 'author'), plain)
  })

  it('friendsforever: authors reloaded every 500 transactions, a merger reloaded with ops parked, end as never reloaded', () => {
    const trace = readTrace('friendsforever.json.gz')
    const n = trace.txns.length
    const run = (reloadEvery: number): TextDoc[] => {
      const clock = steadyClock()
      let docs = Array.from({ length: trace.numAgents! }, (_, i) => new TextDoc(`agent${i}`, { clock }))
      const held = docs.map(() => new Uint8Array(n))
      const produced: Uint8Array[][] = []
      for (let t = 0; t < n; t++) {
        const txn = trace.txns[t]!
        const doc = docs[txn.agent!]!
        const has = held[txn.agent!]!
        const missing: number[] = []
        const stack = [...txn.parents!]
        while (stack.length > 0) {
          const p = stack.pop()!
          if (has[p]) continue
          has[p] = 1
          missing.push(p)
          stack.push(...trace.txns[p]!.parents!)
        }
        missing.sort((x, y) => x - y)
        for (const p of missing) for (const batch of produced[p]!) doc.applyRemote(batch)
        const batches: Uint8Array[] = []
        for (const patch of txn.patches) batches.push(...applyPatch(doc, patch))
        produced.push(batches)
        has[t] = 1
        if ((t + 1) % reloadEvery === 0) docs = docs.map((d) => reload(d, clock))
      }
      // Merge: a new replica gets every transaction newest first, so nearly all of them park, and is
      // reloaded now and then with them parked; then the authors pull what they lack from it.
      let merged = new TextDoc('merger', { clock })
      for (let t = n - 1; t >= 0; t--) {
        for (const batch of produced[t]!) merged.applyRemote(batch)
        if (reloadEvery < Infinity && t % 1000 === 500) {
          expect(merged.pendingCount()).toBeGreaterThan(100)
          merged = reload(merged, clock)
        }
      }
      for (const doc of docs) doc.applyRemote(merged.changesSince(doc.version()))
      return [merged, ...docs]
    }
    const plain = run(Infinity)
    const reloaded = run(500)
    for (let i = 0; i < plain.length; i++) {
      expect(plain[i]!.toString()).toBe(trace.endContent)
      expectSameDoc(reloaded[i]!, plain[i]!)
    }
  })
})
