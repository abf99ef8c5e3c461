/**
 * A document taken up again seals its edits from its last seal on (src/main/node/provenance.ts,
 * Checkpoint): its replica's stream hash is kept with the snapshot, so the first seal of a session
 * does not read the stored history, which is a replay of every op (issue 14: opening and editing cost
 * in proportion to the document, not to everything ever typed). A real node on a real data dir.
 */
import { join } from 'node:path'
import { afterEach, expect, it, vi } from 'vitest'
import { streamDigest } from '../../src/main/node/provenance'
import { decodeSeals } from '../../src/main/node/replica-seal'
import { DurableDoc } from '../../src/main/storage/durable-doc'
import { FileStore } from '../../src/main/storage/file-store'
import { seededRandom } from '../../src/shared/random'
import { TcpCluster } from './tcp-nodes'

const cluster = new TcpCluster()
afterEach(() => cluster.closeAll())

it('a reopened document seals its new edits without reading its history, with the whole stream’s digest', async () => {
  const first = await cluster.start('ana')
  const doc = await cluster.createDoc(first, '')
  // 3,000 edits at random places, each an op of its own in the history (typing in one place merges).
  const random = seededRandom(11)
  const edits: Promise<void>[] = []
  for (let i = 0; i < 3_000; i++) {
    const at = Math.floor(random() * (doc.text.length + 1))
    edits.push(i % 5 === 4 && at < doc.text.length ? doc.delete(at, 1) : doc.insert(at, 'abcdef'[i % 6]!))
  }
  await Promise.all(edits)
  await first.node.close() // seals its replica, then compacts: the history goes into the snapshot's files
  cluster.nodes.splice(cluster.nodes.indexOf(first), 1)

  const ana = await cluster.start('ana', {}, first.dir)
  await ana.node.docsOpened
  const reopened = ana.node.workspace.doc(doc.docId)!
  const replica = reopened.durable.replica
  const reads = vi.spyOn(reopened.durable.text as unknown as { fullLog: () => unknown }, 'fullLog')
  await reopened.insert(0, 'again ')
  await ana.node.close() // seals the new edit
  expect(reads).not.toHaveBeenCalled()

  const stored = await DurableDoc.open(new FileStore({ dir: join(first.dir, 'docs') }), doc.docId)
  try {
    const text = stored.text
    const seals = stored.seals().flatMap((bytes) => decodeSeals(bytes))
    const latest = seals.filter((s) => s.replica === replica).sort((a, b) => b.counter - a.counter)[0]!
    expect(latest.counter).toBe(text.seenOf(replica))
    expect(latest.digest).toEqual(streamDigest(text, replica, latest.counter))
    expect(stored.checkpointRecords()).toHaveLength(1)
  } finally {
    await stored.close()
  }
})
