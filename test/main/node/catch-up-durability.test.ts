/**
 * How soon a peer's ops are made durable here (src/main/storage/README.md, the durability contract):
 * a sync reply's batch at once, in one write and fsync with the seals and property writes that came
 * ahead of it (a join of 2,000 files waited SYNC_DEFER_MS on each before it could be written to a
 * shared folder); a live update with the next write and fsync.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { joinByInvite, nodesOfEachTest, until } from './cluster'

const node = nodesOfEachTest()
// Registered after the nodes' cleanup, so it runs before it (after-hooks run last-registered first).
afterEach(() => vi.restoreAllMocks())

describe("a peer's text ops on their way to disk", () => {
  it('a sync reply’s go out at once, a live update’s with the next write', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const doc = await ana.ws.createDoc('notes')
    await doc.insert(0, 'written before Ben joined\n')
    const staged: { doc: DurableDoc; fromPeer: boolean }[] = []
    const stage = DurableDoc.prototype.stageText
    vi.spyOn(DurableDoc.prototype, 'stageText').mockImplementation(function (
      this: DurableDoc,
      batch: Uint8Array,
      fromPeer?: boolean,
    ) {
      staged.push({ doc: this, fromPeer: fromPeer ?? false })
      return stage.call(this, batch, fromPeer)
    })
    const bens = await joinByInvite(ana, ben, doc.docId)
    const atBen = (): boolean[] => staged.filter((s) => s.doc === bens.durable).map((s) => s.fromPeer)
    expect(atBen()).toEqual([false]) // the catch-up: not deferred
    await doc.insert(doc.text.length, 'typed while Ben is here\n')
    await until('Ben has the live edit', () => bens.text === doc.text)
    expect(atBen()).toEqual([false, true]) // the live update: deferred
  })
})
