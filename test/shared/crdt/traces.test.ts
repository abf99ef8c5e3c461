/**
 * Replays real editing traces (github.com/josephg/editing-traces, CC BY 4.0; see
 * ../shared/traces/README.md) through TextDoc: a sequential one through local edits, and a
 * concurrent one with one replica per author, forked and merged as the trace's transactions say.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { TextDoc, type VersionVector } from '../../../src/shared/crdt'
import { missingPast } from '../../support/concurrent-traces'
import { normalizeVersion, versionKey } from './harness'

const TRACES = path.resolve(process.cwd(), '../shared/traces')

/** [position in code points, characters deleted (code points), text inserted] */
type Patch = [number, number, string]

interface SequentialTrace {
  readonly startContent: string
  readonly endContent: string
  readonly txns: readonly { readonly patches: readonly Patch[] }[]
}

interface ConcurrentTrace {
  readonly kind: 'concurrent'
  readonly endContent: string
  readonly numAgents: number
  readonly txns: readonly {
    readonly parents: readonly number[]
    readonly agent: number
    readonly patches: readonly Patch[]
  }[]
}

function readTrace(name: string): unknown {
  const file = path.join(TRACES, name)
  if (!existsSync(file)) {
    throw new Error(
      `Editing trace ${file} is missing. The traces are expected in ../shared/traces relative to the ` +
        `repository root (this run's cwd is ${process.cwd()}); see that folder's README.md.`,
    )
  }
  return JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as unknown
}

const isPatch = (p: unknown): p is Patch =>
  Array.isArray(p) &&
  p.length === 3 &&
  Number.isInteger(p[0]) &&
  Number.isInteger(p[1]) &&
  typeof p[2] === 'string'

function asSequential(data: unknown): SequentialTrace {
  const t = data as SequentialTrace
  if (
    typeof t.endContent !== 'string' ||
    !Array.isArray(t.txns) ||
    !t.txns.every((x) => x.patches.every(isPatch))
  ) {
    throw new Error('not a sequential editing trace')
  }
  return t
}

function asConcurrent(data: unknown): ConcurrentTrace {
  const t = data as ConcurrentTrace
  const ok =
    t.kind === 'concurrent' &&
    typeof t.endContent === 'string' &&
    Number.isInteger(t.numAgents) &&
    Array.isArray(t.txns) &&
    t.txns.every(
      (x, i) =>
        Number.isInteger(x.agent) &&
        x.agent >= 0 &&
        x.agent < t.numAgents &&
        x.parents.every((p: number) => Number.isInteger(p) && p >= 0 && p < i) &&
        x.patches.every(isPatch),
    )
  if (!ok) throw new Error('not a concurrent editing trace (or a parent does not precede its child)')
  return t
}

const ASTRAL = /[\u{10000}-\u{10FFFF}]/u

/** Whether any inserted text has characters outside the BMP, i.e. code points != UTF-16 units. */
function hasAstral(txns: readonly { readonly patches: readonly Patch[] }[]): boolean {
  return txns.some((t) => t.patches.some((p) => ASTRAL.test(p[2])))
}

/** UTF-16 offset of code point `cp` in `text`. */
function utf16Offset(text: string, cp: number): number {
  let units = 0
  for (let i = 0; i < cp; i++) units += text.codePointAt(units)! > 0xffff ? 2 : 1
  return units
}

/** Applies one trace patch as local edits; returns the batches it produced. */
function applyPatch(doc: TextDoc, [pos, del, ins]: Patch, astral: boolean): Uint8Array[] {
  const batches: Uint8Array[] = []
  let at = pos
  let length = del
  if (astral) {
    const text = doc.toString()
    at = utf16Offset(text, pos)
    length = utf16Offset(text.slice(at), del)
  }
  if (length > 0) batches.push(doc.localDelete(at, length))
  if (ins.length > 0) batches.push(doc.localInsert(at, ins))
  return batches
}

/** Compares long texts, reporting where they first differ instead of printing both. */
function expectText(actual: string, expected: string, what: string): void {
  if (actual === expected) return
  let i = 0
  while (i < actual.length && actual[i] === expected[i]) i++
  expect.fail(
    `${what}: length ${actual.length}, expected ${expected.length}; first difference at ${i}: ` +
      `${JSON.stringify(actual.slice(i, i + 40))} vs ${JSON.stringify(expected.slice(i, i + 40))}`,
  )
}

/** The document's sequence of IDs, tombstones included, as its runs (TextDoc.forEachRun). */
function sequenceOf(doc: TextDoc): string[] {
  const runs: string[] = []
  doc.forEachRun((replica, counter, length) => runs.push(`${replica}:${counter}+${length}`))
  return runs
}

describe('editing traces', () => {
  it('automerge-paper: 259,778 sequential edits reproduce the paper, and survive save/load', () => {
    const trace = asSequential(readTrace('automerge-paper.json.gz'))
    let edits = 0
    for (const t of trace.txns) edits += t.patches.length
    expect(edits).toBe(259_778)
    const astral = hasAstral(trace.txns)
    expect(astral).toBe(false) // pure ASCII, as the README says: positions need no conversion

    const doc = new TextDoc('author')
    if (trace.startContent) doc.localInsert(0, trace.startContent)
    for (const t of trace.txns) for (const p of t.patches) applyPatch(doc, p, astral)
    expectText(doc.toString(), trace.endContent, 'after the replay')
    expect(doc.length).toBe(trace.endContent.length)

    const loaded = TextDoc.load(doc.save(), 'reloaded')
    expectText(loaded.toString(), trace.endContent, 'after save/load')
    expect(normalizeVersion(loaded.version())).toEqual(normalizeVersion(doc.version()))
    expect(loaded.pendingCount()).toBe(0)

    // The whole history as one batch rebuilds the document on a fresh replica.
    const fresh = new TextDoc('fresh')
    fresh.applyRemote(doc.changesSince({}))
    expectText(fresh.toString(), trace.endContent, 'rebuilt from changesSince({})')
    expect(normalizeVersion(fresh.version())).toEqual(normalizeVersion(doc.version()))

    // Rebuilt in canonical order (what peers do where their orders differ): the same sequence.
    const canonical = doc.canonical()
    expectText(canonical.toString(), trace.endContent, 'rebuilt in canonical order')
    expect(sequenceOf(canonical)).toEqual(sequenceOf(doc))
  })

  it('friendsforever: two concurrent authors, forked and merged by parents, converge on endContent', () => {
    const trace = asConcurrent(readTrace('friendsforever.json.gz'))
    const astral = hasAstral(trace.txns) || ASTRAL.test(trace.endContent)
    const n = trace.txns.length
    const docs = Array.from({ length: trace.numAgents }, (_, i) => new TextDoc(`agent${i}`))
    /** The batches each transaction produced. */
    const produced: Uint8Array[][] = []
    /** Version of the authoring replica right after each transaction. */
    const versionAfter: VersionVector[] = []
    /** held[agent][txn]: that agent's replica has the transaction's ops. Always closed under parents. */
    const held = docs.map(() => new Uint8Array(n))

    for (let t = 0; t < n; t++) {
      const txn = trace.txns[t]!
      const doc = docs[txn.agent]!
      const has = held[txn.agent]!
      // Bring the replica to exactly the parents' version: deliver every transaction in the parents'
      // causal past that it does not have yet, oldest first.
      for (const p of missingPast(trace.txns, txn.parents, has))
        for (const batch of produced[p]!) doc.applyRemote(batch)

      const expected: VersionVector = {}
      for (const p of txn.parents) {
        for (const [r, c] of Object.entries(versionAfter[p]!)) expected[r] = Math.max(expected[r] ?? 0, c)
      }
      const version = normalizeVersion(doc.version())
      if (versionKey(version) !== versionKey(expected) || doc.pendingCount() !== 0) {
        expect.fail(
          `before txn ${t} (agent ${txn.agent}, parents ${JSON.stringify(txn.parents)}) the replica is at ` +
            `${JSON.stringify(version)} with ${doc.pendingCount()} parked ops; expected ${JSON.stringify(expected)}`,
        )
      }

      const batches: Uint8Array[] = []
      for (const patch of txn.patches) batches.push(...applyPatch(doc, patch, astral))
      produced.push(batches)
      versionAfter.push(normalizeVersion(doc.version()))
      has[t] = 1
    }

    // Merge everything: the first replica gets what it lacks newest first (exercising parking), the
    // others pull changesSince from it.
    const [first, ...rest] = docs as [TextDoc, ...TextDoc[]]
    for (let t = n - 1; t >= 0; t--)
      if (!held[0]![t]) for (const batch of produced[t]!) first.applyRemote(batch)
    for (const doc of rest) doc.applyRemote(first.changesSince(doc.version()))
    for (const doc of docs) {
      expectText(doc.toString(), trace.endContent, `${doc.replica} after the merge`)
      expect(doc.length).toBe(trace.endContent.length)
      expect(doc.pendingCount()).toBe(0)
      expect(normalizeVersion(doc.version())).toEqual(normalizeVersion(first.version()))
    }
    const loaded = TextDoc.load(first.save(), 'reloaded')
    expectText(loaded.toString(), trace.endContent, 'after save/load')
    expect(normalizeVersion(loaded.version())).toEqual(normalizeVersion(first.version()))

    // Every replica holds the same sequence, and so does the rebuild in canonical order: for inserts
    // made as honest replicas make them, the order of integration changes nothing.
    for (const doc of rest) expect(sequenceOf(doc)).toEqual(sequenceOf(first))
    const canonical = first.canonical()
    expectText(canonical.toString(), trace.endContent, 'rebuilt in canonical order')
    expect(sequenceOf(canonical)).toEqual(sequenceOf(first))
  })
})
