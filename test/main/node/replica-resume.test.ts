/**
 * Replicas taken up again (issue 14: version vectors must not grow with every start): a clean close
 * records this device's replicas of a document (the node's and the windows'), and the next start hands
 * them out again, each once, so a peer's version vector gains no replica; its counters continue where
 * they stopped. A start that found them takes them out of the secrets at once, so after a crash the
 * next start mints new ones.
 */
import SecretStream from '@hyperswarm/secret-stream'
import { afterEach, expect, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { SecretStore } from '../../../src/main/node/secrets'
import type { MemoryBacking } from '../../../src/main/storage/memory-store'
import { TextDoc } from '../../../src/shared/crdt'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { readFileSync } from 'node:fs'
import { join as joinPath } from 'node:path'
import { cleanup, connect, joinByInvite as join, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

/** An edit made in a window that edits with `replica`, from the document's state now. */
async function windowTypes(doc: DocSession, replica: string, text: string): Promise<void> {
  const window = new TextDoc(replica)
  window.applyRemote(doc.durable.allTextOps())
  await doc.applyLocalBatch(window.localInsert(window.length, text))
}

it('a clean close hands the same replicas to the next start, each once; a start then crashed does not', async () => {
  const keyPair = SecretStream.keyPair()
  const backing: MemoryBacking = new Map()
  const alice = await makeNode('alice', undefined, { keyPair, backing })
  const bob = await makeNode('bob')
  nodes.push(alice, bob)
  const doc = await alice.ws.createDoc('Resumed')
  await doc.insert(0, 'one ')
  const window = doc.mintReplica()
  await windowTypes(doc, window, 'two ')
  const bobDoc = await join(alice, bob, doc.docId)
  const replicas = Object.keys(bobDoc.textVersion()).sort()
  expect(replicas).toContain(window)
  expect(replicas).toContain(doc.durable.replica)

  await alice.ws.close()
  const kept = (await SecretStore.open(alice.dir)).doc(doc.docId)!
  expect(kept.resume).toHaveLength(2)
  const again = await makeNode('alice', undefined, { keyPair, backing, docs: { [doc.docId]: kept } })
  nodes.push(again)
  const reopened = await again.ws.openDoc(doc.docId)
  expect(reopened.durable.replica).toBe(doc.durable.replica)
  expect(reopened.mintReplica()).toBe(window)
  const fresh = reopened.mintReplica() // never the same one twice in a run
  expect(fresh).not.toBe(window)
  // Both pick up their counters where they stopped: bob takes every new op, and no new replica.
  connect(again, bob)
  await until('bob back', () => bob.ws.session(again.self)?.isAuthenticated(doc.docId) === true)
  await reopened.insert(0, 'three ')
  await windowTypes(reopened, window, 'four')
  await until('bob has every edit', () => bobDoc.text === reopened.text)
  expect(bobDoc.text).toBe('three one two four')
  expect(Object.keys(bobDoc.textVersion()).sort()).toEqual(replicas)
  expect(bobDoc.textVersion()).toEqual(reopened.textVersion())

  // Taken out as the document opened: had this run crashed, the next start would mint new ones.
  expect((await SecretStore.open(again.dir)).doc(doc.docId)?.resume).toBeUndefined()
})

it('a start takes every document’s replicas out at once, and a clean close keeps those of documents it never opened', async () => {
  const keyPair = SecretStream.keyPair()
  const backing: MemoryBacking = new Map()
  const first = await makeNode('alice', undefined, { keyPair, backing })
  nodes.push(first)
  const a = await first.ws.createDoc('A')
  const b = await first.ws.createDoc('B')
  await a.insert(0, 'a')
  await b.insert(0, 'b')
  await first.ws.close()
  const store = await SecretStore.open(first.dir)
  const docs = { [a.docId]: store.doc(a.docId)!, [b.docId]: store.doc(b.docId)! }
  expect([docs[a.docId]!.resume, docs[b.docId]!.resume].map((r) => r?.length)).toEqual([1, 1])

  const second = await makeNode('alice', undefined, { keyPair, backing, docs })
  nodes.push(second)
  const reopened = await second.ws.openDoc(a.docId)
  expect(reopened.durable.replica).toBe(a.durable.replica)
  // Both taken out of the file by the first open: a crash now would mint new ones for both.
  const during = await SecretStore.open(second.dir)
  expect([during.doc(a.docId)?.resume, during.doc(b.docId)?.resume]).toEqual([undefined, undefined])
  await second.ws.close()
  const after = await SecretStore.open(second.dir)
  expect(after.doc(a.docId)?.resume).toEqual(docs[a.docId]!.resume)
  expect(after.doc(b.docId)?.resume).toEqual(docs[b.docId]!.resume) // never opened: kept as it was
})

it('a project’s files take up their replicas after a clean restart, closed while idle or open at the close', async () => {
  const keyPair = SecretStream.keyPair()
  const backing: MemoryBacking = new Map()
  let t = Date.now()
  const first = await makeNode('alice', () => t, { keyPair, backing, fileIdleMs: 1000 })
  nodes.push(first)
  const project = await first.ws.createDoc('project')
  const files: { node: string; doc: DocSession }[] = []
  for (const name of ['a.md', 'b.md']) {
    const [op] = await project.changeTree((tree) => tree.create(ROOT, name, 'file').op)
    const doc = await first.ws.openFile(project, op!.node)
    await doc.insert(0, name)
    files.push({ node: op!.node, doc })
  }
  // Both close while idle (seals wait for a pause in typing, on the real clock); b.md opens again.
  for (let i = 0; i < 60 && first.ws.filesOf(project.docId).length > 0; i++) {
    t += 2000
    first.ws.syncAll()
    await new Promise((r) => setTimeout(r, 50))
  }
  expect(first.ws.filesOf(project.docId)).toEqual([])
  const [a, b] = files as [(typeof files)[0], (typeof files)[0]]
  expect((await first.ws.openFile(project, b.node)).durable.replica).toBe(b.doc.durable.replica)
  await first.ws.close()
  const kept = JSON.parse(readFileSync(joinPath(first.dir, 'secrets.json'), 'utf8')) as {
    resumes?: Record<string, string[]>
  }
  expect(Object.keys(kept.resumes ?? {}).sort()).toEqual([a.doc.docId, b.doc.docId].sort())

  const again = await makeNode('alice', () => t, { keyPair, backing, dir: first.dir })
  nodes.push(again)
  const reopened = await again.ws.openDoc(project.docId)
  for (const f of [a, b]) {
    const doc = await again.ws.openFile(reopened, f.node)
    expect(doc.durable.replica).toBe(f.doc.durable.replica)
    await doc.insert(0, '>') // its counters go on
    expect(Object.keys(doc.textVersion())).toEqual([f.doc.durable.replica])
  }
  // Taken out of the secrets as they were read: a crash now would mint new ones.
  expect(JSON.parse(readFileSync(joinPath(again.dir, 'secrets.json'), 'utf8')).resumes).toBeUndefined()
})
