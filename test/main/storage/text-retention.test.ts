/**
 * The retention policy (src/main/storage/text-retention.ts): past the budget, the blocks deleted longest
 * ago go first, only as far as a seal of the block form covers them, a pass is made when the deleted
 * characters outgrow the budget, and again only once the history has grown.
 */
import { describe, expect, it } from 'vitest'
import { applyRetention, MIN_KEPT_CHARS } from '../../../src/main/storage/text-retention'
import { TextDoc } from '../../../src/shared/crdt'
import { BLOCK_COUNTERS } from '../../../src/shared/crdt/op-stream'

const REPLICA = 'ana-replica1'

/**
 * After a line that stays, twenty drafts of a block's length each, typed one after the other (draft i
 * fills block i + 1), then cut from the last to the first, an hour apart: the last draft was deleted
 * longest ago.
 */
function drafts(): TextDoc {
  let now = 1_700_000_000_000
  const doc = new TextDoc(REPLICA, { clock: () => now })
  doc.localInsert(0, 'x'.repeat(BLOCK_COUNTERS))
  for (let i = 0; i < 20; i++) doc.localInsert(doc.length, String.fromCharCode(97 + i).repeat(BLOCK_COUNTERS))
  for (let i = 19; i >= 0; i--) {
    now += 3_600_000
    doc.localDelete((i + 1) * BLOCK_COUNTERS, BLOCK_COUNTERS)
  }
  const { state, history } = doc.saveStateApart()
  return TextDoc.loadState(state, REPLICA, { history })
}

/** The blocks dropped, in order. */
const droppedBlocks = (doc: TextDoc): number[] =>
  [...(doc.droppedOf(REPLICA)?.keys() ?? [])].sort((a, b) => a - b)

describe('the retention policy', () => {
  it('drops the blocks deleted longest ago until the deleted text kept is within the budget', () => {
    const doc = drafts()
    const draftBlocks = Array.from({ length: 20 }, (_, i) => i + 1) // block 0 is the line that stays
    expect(doc.droppable().candidates.map((c) => c.block)).toEqual(draftBlocks)
    // Multiple 0: the budget is the floor, 65,536 characters, of 81,920 deleted.
    const looked = applyRetention(doc, { multiple: () => 0, sealedUpTo: () => Infinity }, 0, 1 << 20)
    expect(looked).toBe(true)
    // 81,920 - 4 × 4,096 = 65,536: the four deleted longest ago go, the last four typed.
    expect(droppedBlocks(doc)).toEqual([17, 18, 19, 20])
    expect(doc.droppable().deletedChars).toBe(MIN_KEPT_CHARS)
    expect(doc.toString()).toBe('x'.repeat(BLOCK_COUNTERS))
  })

  it('looks at deleted text that compresses below the budget in bytes, by the count of deleted characters', () => {
    const doc = drafts()
    doc.localInsert(doc.length, '\n') // edited this session, as a document is when it compacts
    // Each draft is one letter 4,096 times: its stored history is a few hundred bytes for 81,920 deleted
    // characters. Measured in bytes, it never reached the budget, and the text stayed for good.
    expect(doc.historyBytes()).toBeLessThan(MIN_KEPT_CHARS / 16)
    expect(doc.deletedLength()).toBe(20 * BLOCK_COUNTERS)
    const looked = applyRetention(doc, { multiple: () => 0, sealedUpTo: () => Infinity }, 0, 0)
    expect(looked).toBe(true)
    expect(droppedBlocks(doc)).toEqual([17, 18, 19, 20])
    expect(doc.droppable().deletedChars).toBe(MIN_KEPT_CHARS)
  })

  it('passes over blocks no seal of the block form covers', () => {
    const doc = drafts()
    const sealedUpTo = (): number => 18 * BLOCK_COUNTERS // blocks 18 to 20 end past it
    applyRetention(doc, { multiple: () => 0, sealedUpTo }, 0, 1 << 20)
    expect(droppedBlocks(doc)).toEqual([14, 15, 16, 17])
  })

  it('keeps all with Infinity, and looks again only once the history has grown by a quarter', () => {
    const doc = drafts()
    const policy = { multiple: () => Infinity, sealedUpTo: () => Infinity }
    expect(applyRetention(doc, policy, 0, 1 << 20)).toBe(false)
    expect(droppedBlocks(doc)).toEqual([])
    // Past the budget in bytes (the history, and the log since the last save), but no larger by a
    // quarter than at the last look: not looked at again.
    const seen = doc.historyBytes() + 100_000
    const some = { multiple: () => 0, sealedUpTo: () => Infinity }
    expect(applyRetention(doc, some, seen, 100_000)).toBe(false)
    expect(droppedBlocks(doc)).toEqual([])
    expect(applyRetention(doc, some, seen / 1.3, 100_000)).toBe(true)
    expect(droppedBlocks(doc)).toEqual([17, 18, 19, 20])
  })
})
