/**
 * Run by small-integers.test.ts with --allow-natives-syntax: edits two replicas apart (deletes, then
 * inserts and remote ops landing inside the tombstones, which splits them), merges them, and prints
 * every count of the span tree and every span's length and counter that V8 holds as something other
 * than a small integer (a Smi).
 */
import { TextDoc } from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'

// A constant body, in a test's child only: V8's intrinsics (%IsSmi) parse only in code V8 compiles from
// source, and this file goes through tsx's compiler, which does not know them.
// eslint-disable-next-line no-new-func -- see above
const isSmi = new Function('x', 'return %IsSmi(x)') as (x: unknown) => boolean

interface Node {
  vis: number
  raw: number
  children?: Node[]
  spans?: { len: number; counter: number }[]
}

const base = new TextDoc('base')
base.localInsert(0, 'Apart, then together.\n')
const a = new TextDoc('a')
const b = new TextDoc('b')
a.applyRemote(base.changesSince({}))
b.applyRemote(base.changesSince({}))
const random = seededRandom(11)
for (const doc of [a, b]) {
  for (let i = 0; i < 3000; i++) {
    const length = doc.length
    const at = Math.floor(random() * (length + 1))
    if (at < length && random() < 0.4)
      doc.localDelete(at, Math.min(length - at, 1 + Math.floor(random() * 3)))
    else doc.localInsert(at, 'xyz'.slice(0, 1 + Math.floor(random() * 3)))
  }
}
a.applyRemote(b.changesSince(a.version()))
b.applyRemote(a.changesSince(b.version()))
if (a.toString() !== b.toString()) throw new Error('the replicas differ')

const notSmi: string[] = []
let nodes = 0
let spans = 0
const walk = (node: Node): void => {
  nodes++
  if (!isSmi(node.vis) || !isSmi(node.raw)) notSmi.push(`node counts ${node.vis}/${node.raw}`)
  for (const child of node.children ?? []) walk(child)
  for (const span of node.spans ?? []) {
    spans++
    if (!isSmi(span.len) || !isSmi(span.counter)) notSmi.push(`span ${span.counter}+${span.len}`)
  }
}
for (const doc of [a, b]) walk((doc as unknown as { tree: { root: Node } }).tree.root)
console.log(JSON.stringify({ nodes, spans, notSmi: notSmi.slice(0, 5), notSmiCount: notSmi.length }))
