/**
 * A window opens a document whose history is long against its text from the snapshot (issue 14:
 * opening costs in proportion to the document, not to everything ever typed): the node does not read
 * its history to answer, the window gets no op batch, and its replica edits as one built from every op
 * does. A real node on a real data dir, opened again as after a restart, and the app service in front
 * of it as a browser window has it.
 */
import { afterAll, expect, it, vi } from 'vitest'
import { AppService } from '../../src/main/hosts/app-service'
import type { ApiResult } from '../../src/shared/api'
import { openWindowState } from '../../src/shared/crdt'
import { churn } from '../support/churn'
import { TcpCluster } from './tcp-nodes'
import { until } from './util'

const cluster = new TcpCluster()
afterAll(() => cluster.closeAll())

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

it('a document with a long history opens in a window from its snapshot, and edits as before', async () => {
  const first = await cluster.start('ana')
  const made = await cluster.createDoc(first, 'Kept.\n')
  await churn(made, 40_000, 31)
  const text = made.text
  await first.node.close()
  cluster.nodes.splice(cluster.nodes.indexOf(first), 1)

  const ana = await cluster.start('ana', {}, first.dir)
  await ana.node.docsOpened
  const doc = ana.node.workspace.doc(made.docId)!
  const reads = vi.spyOn(doc.durable.text as unknown as { fullLog: () => unknown }, 'fullLog')
  const service = new AppService({ node: ana.node, host: 'browser', version: 'test', dataDir: ana.dir })
  try {
    const client = service.connect(() => undefined)
    const opened = value(await client.openDocument(made.docId))
    expect(opened.snapshot).toBeInstanceOf(Uint8Array)
    expect(opened.state.length).toBe(0)
    expect(reads).not.toHaveBeenCalled()
    const window = openWindowState(opened.snapshot!, opened.replica)
    expect(window.toString()).toBe(text)
    // The window's edit reaches the node, as one from a replica built from every op does.
    value(await client.pushOps(made.docId, window.localInsert(0, 'Window: ')))
    await until('the node has it', () => doc.text === `Window: ${text}`, 10_000)
    expect(window.toString()).toBe(doc.text)
    expect(reads).not.toHaveBeenCalled()
  } finally {
    service.close()
  }
})

it('a document with a short history opens from every op, as before', async () => {
  const ana = await cluster.start('bo')
  const doc = await cluster.createDoc(ana, 'Short.\n')
  const service = new AppService({ node: ana.node, host: 'browser', version: 'test', dataDir: ana.dir })
  try {
    const opened = value(await service.connect(() => undefined).openDocument(doc.docId))
    expect(opened.snapshot).toBeUndefined()
    expect(opened.state.length).toBeGreaterThan(0)
  } finally {
    service.close()
  }
})
