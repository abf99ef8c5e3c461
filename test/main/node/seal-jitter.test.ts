/**
 * While its edits go on, a device seals them at least every 10 s, give or take a random quarter
 * (doc-provenance.ts, SEAL_MAX_JITTER): devices that began typing together do not all seal at once,
 * which cost every peer of the mesh bench a burst of seal checks that held up the next half second of
 * keystrokes.
 */
import { describe, expect, it, vi } from 'vitest'
import { cleanup, makeNode } from './cluster'

describe('sealing while edits go on', () => {
  it('seals each run of edits 7.5 to 12.5 s after its first, at moments spread apart', async () => {
    let t = 1_000_000
    const ana = await makeNode('ana', () => t)
    try {
      const docs = await Promise.all(Array.from({ length: 12 }, (_, i) => ana.ws.createDoc(`doc ${i}`)))
      const sealedAt = new Map<string, number>()
      for (const doc of docs) {
        // Every seal stored goes through stageSeal (storeSeal too).
        const store = doc.durable.stageSeal.bind(doc.durable)
        let own = 0
        vi.spyOn(doc.durable, 'stageSeal').mockImplementation((key, seal, fromPeer) => {
          // The first is the replica's claim, stored with its first edit; the next is its first seal.
          if (key === doc.durable.replica && ++own === 2 && !sealedAt.has(doc.docId))
            sealedAt.set(doc.docId, t)
          return store(key, seal, fromPeer)
        })
      }
      const start = t
      // Everyone types at once, a character every 400 ms (no pause of a second, so no idle seal). An
      // edit at or past a document's due moment sets its seal timer to 0, which fires in this step's
      // wait, before the clock moves on: each seal is stamped within 400 ms after it was due.
      for (let step = 0; step < 40 && sealedAt.size < docs.length; step++) {
        if (step > 0) t += 400
        await Promise.all(docs.filter((d) => !sealedAt.has(d.docId)).map((d) => d.insert(d.text.length, 'x')))
        await new Promise((r) => setTimeout(r, 2))
      }
      const after = [...sealedAt.values()].map((at) => at - start)
      expect(after).toHaveLength(docs.length)
      for (const ms of after) {
        // (Its timer may fire a step early on a slow machine: a step of real time past its wait.)
        expect(ms).toBeGreaterThanOrEqual(7_500 - 400)
        expect(ms).toBeLessThan(12_500 + 400)
      }
      expect(Math.max(...after) - Math.min(...after)).toBeGreaterThanOrEqual(1_200)
    } finally {
      await cleanup([ana])
    }
  })
})
