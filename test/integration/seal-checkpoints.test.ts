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
import { churn } from '../support/churn'
import type { DocSession } from '../../src/main/node/doc-session'
import { TcpCluster, type TcpNode } from './tcp-nodes'
import { HOST, until } from './util'

const cluster = new TcpCluster()
afterEach(() => cluster.closeAll())

/** Counts reads of a document's whole stored history (a replay of it). */
const historyReads = (doc: DocSession) =>
  vi.spyOn(doc.durable.text as unknown as { fullLog: () => unknown }, 'fullLog')

/** The highest counter of `replica` among the seals a node stored for a document. */
const storedSealOf = (node: TcpNode, docId: string, replica: string): number =>
  Math.max(
    0,
    ...node.node.workspace
      .doc(docId)!
      .durable.seals()
      .flatMap((bytes) => decodeSeals(bytes))
      .filter((s) => s.replica === replica)
      .map((s) => s.counter),
  )

it('a reopened document seals its new edits without reading its history, with the whole stream’s digest', async () => {
  const first = await cluster.start('ana')
  const doc = await cluster.createDoc(first, '')
  await churn(doc, 3_000, 11)
  await first.node.close() // seals its replica, then compacts: the history goes into the snapshot's files
  cluster.nodes.splice(cluster.nodes.indexOf(first), 1)

  const ana = await cluster.start('ana', {}, first.dir)
  await ana.node.docsOpened
  const reopened = ana.node.workspace.doc(doc.docId)!
  const replica = reopened.durable.replica
  const reads = historyReads(reopened)
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

it('a reopened document checks a peer’s next seal without reading its history, the peer’s unsealed last ops included', async () => {
  const first = await cluster.start('ana')
  const ben = await cluster.start('ben')
  const anaDoc = await cluster.createDoc(first, 'start\n')
  const benDoc = await cluster.join(first, ben, anaDoc.docId)
  const benReplica = benDoc.durable.replica
  await churn(benDoc, 3_000, 12)
  // Ana has Ben's edits and has checked his seal of them (he seals once his typing pauses).
  await until(
    'ana checked ben’s seal',
    () => storedSealOf(first, anaDoc.docId, benReplica) === benDoc.durable.text.seenOf(benReplica),
    15_000,
  )
  // He types on, and she closes before his next seal: those ops go into her history unsealed.
  await churn(benDoc, 30, 13)
  await until('ana has them', () => anaDoc.text === benDoc.text, 10_000)
  await first.node.close()
  cluster.nodes.splice(cluster.nodes.indexOf(first), 1)

  const ana = await cluster.start('ana', {}, first.dir)
  await ana.node.docsOpened
  const reopened = ana.node.workspace.doc(anaDoc.docId)!
  const reads = historyReads(reopened)
  ben.node.add(HOST, ana.node.port)
  await until(
    'ben back',
    () => ben.node.workspace.session(ana.self)?.isAuthenticated(anaDoc.docId) === true,
    10_000,
  )
  await benDoc.insert(0, '>')
  await until(
    'ana checked ben’s next seal',
    () => storedSealOf(ana, anaDoc.docId, benReplica) === benDoc.durable.text.seenOf(benReplica),
    15_000,
  )
  expect(reopened.text).toBe(benDoc.text)
  expect(reads).not.toHaveBeenCalled()
})
