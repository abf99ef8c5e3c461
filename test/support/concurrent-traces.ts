/**
 * The concurrent editing traces (github.com/josephg/editing-traces, CC BY 4.0) replayed through
 * TextDoc, one replica per author: every batch the authors made, in a causal order. Shared by the
 * CRDT tests and `npm run bench -- paths`.
 *
 * friendsforever is read from ../shared/traces (see its README); clownschool from
 * test/fixtures/traces (see the README there).
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { TextDoc } from '../../src/shared/crdt'

export type ConcurrentTraceName = 'friendsforever' | 'clownschool'

const FILES: Record<ConcurrentTraceName, string> = {
  friendsforever: path.resolve(process.cwd(), '../shared/traces/friendsforever.json.gz'),
  clownschool: path.resolve(process.cwd(), 'test/fixtures/traces/clownschool.json.gz'),
}

/** [position, characters deleted, text inserted]; both traces are BMP-only, so units = code points. */
type Patch = [number, number, string]

interface ConcurrentTrace {
  readonly endContent: string
  readonly numAgents: number
  readonly txns: readonly {
    readonly parents: readonly number[]
    readonly agent: number
    readonly patches: readonly Patch[]
  }[]
}

export interface TraceBatches {
  /** Every batch made, one per patch part (a delete, an insert), in a causal order. */
  readonly batches: Uint8Array[]
  readonly endContent: string
}

/**
 * The transactions in the causal past of `parents` that a replica lacks (`has[t]` 0), oldest first;
 * marked as had. Delivering their batches in this order brings it to exactly the parents' version.
 */
export function missingPast(
  txns: readonly { readonly parents: readonly number[] }[],
  parents: readonly number[],
  has: Uint8Array,
): number[] {
  const missing: number[] = []
  const stack = [...parents]
  while (stack.length > 0) {
    const p = stack.pop()!
    if (has[p]) continue
    has[p] = 1
    missing.push(p)
    stack.push(...txns[p]!.parents)
  }
  return missing.sort((x, y) => x - y)
}

/** Replays the trace with one replica per author; returns every batch made, in a causal order. */
export function concurrentTraceBatches(name: ConcurrentTraceName): TraceBatches {
  const file = FILES[name]
  if (!existsSync(file)) throw new Error(`Editing trace ${file} is missing; see ../shared/traces/README.md`)
  const trace = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as ConcurrentTrace
  if (/[\u{10000}-\u{10FFFF}]/u.test(JSON.stringify(trace.txns))) throw new Error('expected a BMP-only trace')
  const n = trace.txns.length
  const docs = Array.from({ length: trace.numAgents }, (_, i) => new TextDoc(`agent${i}`))
  const held = docs.map(() => new Uint8Array(n))
  const produced: Uint8Array[][] = []
  for (let t = 0; t < n; t++) {
    const txn = trace.txns[t]!
    const doc = docs[txn.agent]!
    const has = held[txn.agent]!
    // Bring the author's replica to exactly the parents' version, oldest transaction first.
    for (const p of missingPast(trace.txns, txn.parents, has))
      for (const batch of produced[p]!) doc.applyRemote(batch)
    const batches: Uint8Array[] = []
    for (const [pos, del, ins] of txn.patches) {
      if (del > 0) batches.push(doc.localDelete(pos, del))
      if (ins.length > 0) batches.push(doc.localInsert(pos, ins))
    }
    produced.push(batches)
    has[t] = 1
  }
  return { batches: produced.flat(), endContent: trace.endContent }
}
