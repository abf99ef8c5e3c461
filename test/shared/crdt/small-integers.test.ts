/**
 * The span tree's counts stay small integers to V8. A split tombstone once took `-0` off its leaf's
 * counts (unary minus of a length of 0): a double, after which V8 kept every node's counts as boxed
 * doubles, and optimized code reading them deoptimized again and again; a first bulk apply of remote
 * ops took 140 ms against 20 once warm. Checked with V8's own view of the values, in a process of its
 * own (--allow-natives-syntax).
 */
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { jsonFromChild } from '../../support/json-child'

const CHILD = join(import.meta.dirname, 'small-integers-child.ts')

interface Report {
  nodes: number
  spans: number
  notSmi: string[]
  notSmiCount: number
}

const runChild = (): Promise<Report> =>
  jsonFromChild<Report>(['--allow-natives-syntax', '--import', 'tsx', CHILD])

it('keeps the counts of the span tree and the spans as small integers after tombstones split', async () => {
  const report = await runChild()
  // A tree of many leaves and spans, or the walk proves nothing.
  expect(report.nodes).toBeGreaterThan(50)
  expect(report.spans).toBeGreaterThan(1000)
  expect(report.notSmi).toEqual([])
}, 60_000)
