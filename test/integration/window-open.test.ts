/**
 * A window that opens a document while a peer's edits arrive shows every one of them (issue 13, state
 * that is always true). Two nodes over TCP + Noise; Bob types while windows of Ana's node open the
 * document one after another. Each window's replica (the state it opened with, then its 'ops' events)
 * must end with Ana's text. The state used to be taken, then awaited until durable, and only then
 * was the window subscribed: a peer's ops are written with the next write, up to 25 ms later, so ops
 * applied in that wait were in neither the state nor an event, and such a window never showed them.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { AppService } from '../../src/main/hosts/app-service'
import type { ApiEvent, ApiResult } from '../../src/shared/api'
import { TextDoc } from '../../src/shared/crdt'
import { TcpCluster } from './tcp-nodes'
import { sleep, until } from './util'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

describe('a window opening a document while a peer types', () => {
  const cluster = new TcpCluster()
  afterAll(() => cluster.closeAll())

  it('shows every edit: those in the state it opened with, and those that came after', async () => {
    const ana = await cluster.start('ana')
    const bob = await cluster.start('bob')
    const doc = await cluster.createDoc(ana, 'Start.')
    const bobDoc = await cluster.join(ana, bob, doc.docId)
    const service = new AppService({ node: ana.node, host: 'browser', version: 'test', dataDir: ana.dir })
    try {
      const windows: TextDoc[] = []
      let typing = true
      const typed = (async () => {
        for (let i = 0; i < 60; i++) {
          await bobDoc.insert(bobDoc.text.length, `<${i}>`)
          await sleep(3)
        }
        typing = false
      })()
      while (typing) {
        const replica: { doc: TextDoc | null; early: Uint8Array[] } = { doc: null, early: [] }
        const client = service.connect((e: ApiEvent) => {
          if (e.type !== 'ops' || e.docId !== doc.docId) return
          if (replica.doc) replica.doc.applyRemote(e.batch)
          else replica.early.push(e.batch) // before the reply (kept: what is checked is that no op is in neither the state nor an event)
        })
        const opened = value(await client.openDocument(doc.docId))
        const mine = new TextDoc(opened.replica)
        mine.applyRemote(opened.state)
        for (const b of replica.early) mine.applyRemote(b)
        replica.doc = mine
        windows.push(mine)
        await sleep(2)
      }
      await typed
      await until('ana has all of it', () => doc.text === bobDoc.text, 10_000)
      await sleep(100)
      expect(windows.length).toBeGreaterThan(5)
      for (const [i, w] of windows.entries()) expect(w.toString(), `window ${i}`).toBe(doc.text)
    } finally {
      service.close()
    }
  })
})
