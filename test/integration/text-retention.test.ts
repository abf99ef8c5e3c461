/**
 * The retention policy (src/main/storage/text-retention.ts): a document drops the text of what was
 * deleted long ago past a multiple of its length, keeping every ID, op and block hash, so that peers far
 * behind still converge and still check every op against its author's seal (issue 14). Real nodes over
 * TCP, on real data dirs.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { decodeSeals } from '../../src/main/node/replica-seal'
import { DROPPED_UNIT } from '../../src/shared/crdt/op-stream'
import { seededRandom } from '../../src/shared/random'
import { churn } from '../support/churn'
import { TcpCluster, type TcpNode } from './tcp-nodes'
import { HOST, until } from './util'

const cluster = new TcpCluster()
afterEach(() => cluster.closeAll())

/** Bytes of a document's history files (`hist-*.bin`) in a node's data dir. */
async function historyBytes(node: TcpNode, docId: string): Promise<number> {
  const dir = join(node.dir, 'docs', docId)
  let n = 0
  for (const name of await readdir(dir)) if (name.startsWith('hist-')) n += (await stat(join(dir, name))).size
  return n
}

/** Closes a node (it seals, then compacts) and keeps its data dir. */
async function away(node: TcpNode): Promise<void> {
  cluster.nodes.splice(cluster.nodes.indexOf(node), 1)
  await node.node.close()
}

/** Starts a node closed by `away` again, on its data dir, and has it dial `peer`. */
async function back(node: TcpNode, peer: TcpNode): Promise<TcpNode> {
  const again = await cluster.start(node.name, {}, node.dir)
  await again.node.docsOpened
  again.node.add(HOST, peer.node.port)
  return again
}

it('a document that dropped old deleted text brings peers 10,000 ops behind to the same text, relayed ops checked against their seals', async () => {
  const random = seededRandom(14)
  const letters = (n: number): string =>
    Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('')
  // Ana keeps all deleted text at first, to compare with (no compaction looks for any to drop).
  let ana = await cluster.start('ana', { keepDeleted: Infinity })
  const doc = await cluster.createDoc(ana, 'The plan.\n')
  await cluster.join(ana, await cluster.start('ben'), doc.docId)
  await cluster.join(ana, await cluster.start('cara'), doc.docId)
  const [benNode, caraNode] = cluster.nodes.slice(1) as [TcpNode, TcpNode]
  await away(benNode)
  await away(caraNode)

  // While they are away: drafts pasted and cut (300 K characters), and 10,000 small edits.
  for (let i = 0; i < 40; i++) {
    await doc.insert(doc.text.length, letters(7_500))
    await doc.delete(doc.text.length - 7_500, 7_500)
  }
  await churn(doc, 10_000, 14)
  const anaReplica = doc.durable.replica
  // A block goes once a seal of its replica covers it: the compaction that drops text seals this
  // device's replicas first, as far as their ops go.
  // Kept whole first; then by the policy. The second compaction frees the files the first one's
  // snapshot (kept as the fallback) still named.
  await doc.durable.compact()
  const before = await historyBytes(ana, doc.docId)
  ana.node.workspace.keepDeleted = 1
  await doc.durable.compact()
  expect(doc.durable.text.droppedOf(anaReplica)?.size ?? 0).toBeGreaterThanOrEqual(60)
  await doc.durable.compact()
  const after = await historyBytes(ana, doc.docId)
  expect(after).toBeLessThan(before / 2)
  ana = await cluster.restart(ana, { keepDeleted: 1 })
  const kept = ana.node.workspace.doc(doc.docId)!
  const text = kept.text
  expect(kept.durable.text.droppedOf(anaReplica)?.size ?? 0).toBeGreaterThanOrEqual(60)
  expect(text).not.toContain(DROPPED_UNIT)

  // Ben comes back and gets the 10,000 ops and more from Ana herself.
  const ben2 = await back(benNode, ana)
  const benDoc = ben2.node.workspace.doc(doc.docId)!
  await until('ben caught up', () => benDoc.text === text, 30_000)
  expect(benDoc.durable.text.version()).toEqual(kept.durable.text.version())
  expect(benDoc.durable.text.droppedOf(anaReplica)!.size).toBe(kept.durable.text.droppedOf(anaReplica)!.size)

  // Ana goes; Cara comes back and gets them from Ben: relayed, so held until Ana's seal vouches for
  // them, which it does with the dropped blocks' hashes in place of their text.
  await away(ana)
  const caraDoc = (await back(caraNode, ben2)).node.workspace.doc(doc.docId)!
  await until('cara caught up through ben', () => caraDoc.text === text, 30_000)
  expect(caraDoc.durable.text.version()).toEqual(benDoc.durable.text.version())
  // Held until a seal of Ana's (of the block form) vouched for them, which Cara keeps.
  const sealOfAna = () =>
    caraDoc.durable
      .seals()
      .flatMap((bytes) => decodeSeals(bytes))
      .find((s) => s.replica === anaReplica && s.counter === caraDoc.durable.text.seenOf(anaReplica))
  await until('cara stored the seal that vouched for them', () => sealOfAna() !== undefined, 10_000)
  expect(sealOfAna()!.form).toBe(2)
  expect(caraDoc.durable.text.droppedOf(anaReplica)!.size).toBe(kept.durable.text.droppedOf(anaReplica)!.size)
  // Both still edit together.
  await caraDoc.insert(0, 'Cara: ')
  await until('ben has cara’s edit', () => benDoc.text === caraDoc.text, 10_000)
}, 120_000)
