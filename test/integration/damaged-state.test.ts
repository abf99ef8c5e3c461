/**
 * A snapshot whose text state passes its checksum but holds damaged spans (a bug, a disk that lies):
 * the spans are checked when first used, not at open (text-doc.ts), so the first op that needs them
 * may be a peer's. The fault is this device's copy, never that peer's batch: the peer must not be cut
 * off for it (every peer would be, one batch at a time), and the person is told, once. Real nodes over
 * TCP + Noise, a real data dir.
 */
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { FileStore } from '../../src/main/storage/file-store'
import { DurableDoc } from '../../src/main/storage/durable-doc'
import { TcpCluster } from './tcp-nodes'
import { HOST, sleep, until } from './util'

const cluster = new TcpCluster()
afterEach(() => cluster.closeAll())

/** Payload header bytes before the text state (durable-doc.ts, encodeSnapshotPayload). */
const PAYLOAD_HEADER = 22

/** Garbles the last bytes of the text state of `docId`'s snapshot: its spans section (the last section of a text state). */
async function damageSpans(docsDir: string, docId: string): Promise<void> {
  const doc = await DurableDoc.open(new FileStore({ dir: docsDir }), docId)
  await doc.compact()
  await doc.close()
  const store = new FileStore({ dir: docsDir })
  const loaded = (await store.load(docId))!
  const payload = loaded.snapshot!.slice()
  const textEnd = PAYLOAD_HEADER + new DataView(payload.buffer).getUint32(2, true)
  payload.fill(0xff, textEnd - 4, textEnd)
  await store.writeSnapshot(docId, payload, loaded.history)
  await store.close()
}

it('rebuilds damaged saved spans from the history, keeps the peer whose op found them, and syncs', async () => {
  const ana = await cluster.start('ana')
  const first = await cluster.start('ben')
  const shared = await cluster.createDoc(ana, 'one two three\n'.repeat(50))
  await cluster.join(ana, first, shared.docId)
  await first.node.close()
  cluster.nodes.splice(cluster.nodes.indexOf(first), 1)
  await damageSpans(join(first.dir, 'docs'), shared.docId)
  const ben = await cluster.start('ben', {}, first.dir)
  await ben.node.docsOpened
  const doc = ben.node.workspace.doc(shared.docId)!
  expect(doc.text).toBe(shared.text) // the text reads without the spans
  const errors: string[] = []
  doc.on('error', (err) => errors.push(err.message))

  ben.node.add(HOST, ana.node.port)
  await until(
    'ben back with ana',
    () => ben.node.workspace.session(ana.self)?.isAuthenticated(shared.docId) === true,
    10_000,
  )
  for (let i = 0; i < 3; i++) {
    await shared.insert(0, `${i}`)
    await sleep(50)
  }
  await doc.insert(doc.text.length, 'ben was here\n')
  await until(
    'both hold every edit',
    () => doc.text === shared.text && shared.text.endsWith('here\n'),
    10_000,
  )
  expect(doc.durable.text.repairs).toEqual([expect.any(String)])
  // Ana's batches were never blamed, her connection never dropped, and nobody needed telling.
  expect(ben.log.lines.filter((l) => /malformed batch|closing connection|closed: internal/.test(l))).toEqual(
    [],
  )
  expect(ben.node.workspace.session(ana.self)?.isAuthenticated(shared.docId)).toBe(true)
  expect(errors).toEqual([])
})
