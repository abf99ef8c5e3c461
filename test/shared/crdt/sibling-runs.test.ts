/**
 * SiblingRuns on its own (src/shared/crdt/sibling-runs.ts): a run longer than a chunk, cut where a
 * member leaves it, at every place near the chunk boundaries. same-place.test.ts checks the order the
 * runs give against the plain rule; here, that a cut leaves two well-formed runs wherever it falls.
 */
import { describe, expect, it } from 'vitest'
import { SiblingRuns } from '../../../src/shared/crdt/sibling-runs'
import { NONE, Span } from '../../../src/shared/crdt/span'

const COUNT = 1100
/** Replica IDs that sort as their index does. */
const names = Array.from({ length: COUNT }, (_, i) => `r${String(i).padStart(5, '0')}`)

/** COUNT siblings (same origins, ascending IDs), joined into one run as the scan would join them. */
function oneRun(): { runs: SiblingRuns; spans: Span[] } {
  const runs = new SiblingRuns(names)
  const spans = names.map((_, agent) => new Span(agent, 1, 'x', false, NONE, 0, NONE, 0))
  for (let i = 1; i < COUNT; i++) runs.link(spans[i - 1]!, spans[i]!)
  return { runs, spans }
}

describe('SiblingRuns', () => {
  it('one run of 1,100 members: a jump from any member reaches the last one at or before a name', () => {
    const { runs, spans } = oneRun()
    expect(runs.lastBefore(spans[0]!, names[COUNT - 1]!)).toBe(spans[COUNT - 1])
    expect(runs.lastBefore(spans[3]!, names[700]!)).toBe(spans[700])
    expect(runs.lastBefore(spans[700]!, `${names[900]!}~`)).toBe(spans[900])
  })

  // Chunks split in halves as the run grows; whatever their edges, a member leaving splits the run
  // into the members before it and those after it.
  for (const gone of [1, 255, 256, 257, 383, 384, 385, 511, 512, 513, 767, 768, 769, COUNT - 2]) {
    it(`member ${gone} leaves: two runs, one each side`, () => {
      const { runs, spans } = oneRun()
      runs.removed(spans[gone]!)
      const top = names[COUNT - 1]!
      expect(runs.lastBefore(spans[0]!, top)).toBe(spans[gone - 1])
      expect(runs.lastBefore(spans[gone + 1]!, top)).toBe(spans[COUNT - 1])
      expect(runs.lastBefore(spans[gone]!, top)).toBe(spans[gone])
      // Both parts still take new members at their ends: one after the front part, one before the back.
      const grown = new SiblingRuns([...names, `${names[gone - 1]!}~`, `${names[gone]!}~`])
      for (let i = 1; i < COUNT; i++) grown.link(spans[i - 1]!, spans[i]!)
      grown.removed(spans[gone]!)
      const after = new Span(COUNT, 1, 'y', false, NONE, 0, NONE, 0)
      const before = new Span(COUNT + 1, 1, 'z', false, NONE, 0, NONE, 0)
      grown.link(spans[gone - 1]!, after)
      grown.link(before, spans[gone + 1]!)
      expect(grown.lastBefore(spans[0]!, top)).toBe(after)
      expect(grown.lastBefore(before, top)).toBe(spans[COUNT - 1])
    })
  }
})
