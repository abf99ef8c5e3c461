/**
 * The anti-entropy round's seal retries (Workspace.syncAll → DocSession.retrySeals) run only on the
 * documents with seal work (issue 15: an idle peer on 2,000 files walked every one every 3 s): a
 * document leaves the rounds once one finds nothing to do, comes back with any change that may give
 * it some ('seal-round'), and stays while ops it holds wait for a seal.
 */
import { describe, expect, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import type { Provenance } from '../../../src/main/node/provenance'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { connect, until, type TestNode, nodesOfEachTest } from './cluster'

const node = nodesOfEachTest()

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30))

/** Counts the calls of `doc.retrySeals` (the rounds that walk it). */
function countRetries(doc: DocSession): { calls: number } {
  const count = { calls: 0 }
  const retry = doc.retrySeals.bind(doc)
  doc.retrySeals = () => {
    count.calls++
    return retry()
  }
  return count
}

/** Runs rounds on `n` until `doc` has no seal work left (at most `max`); returns how many it took. */
async function roundsUntilQuiet(n: TestNode, doc: DocSession, max = 10): Promise<number> {
  for (let i = 1; i <= max; i++) {
    n.ws.syncAll()
    await settle()
    if (!doc.sealRoundPending) return i
  }
  throw new Error(`still pending after ${max} rounds`)
}

/** Runs rounds on both nodes until neither document has seal work left. */
async function bothQuiet(a: TestNode, aDoc: DocSession, b: TestNode, bDoc: DocSession): Promise<void> {
  for (let i = 0; i < 20; i++) {
    a.ws.syncAll()
    b.ws.syncAll()
    await settle()
    if (!aDoc.sealRoundPending && !bDoc.sealRoundPending) return
  }
  throw new Error('still pending after 20 rounds')
}

/** Ana's project with one file, plan.md, which Ben (an editor) holds too. */
async function sharedFile(): Promise<{ ana: TestNode; ben: TestNode; file: DocSession; bens: DocSession }> {
  const ana = await node('ana')
  const ben = await node('ben')
  const project = await ana.ws.createDoc('project')
  const [op] = await project.changeTree((t) => t.create(ROOT, 'plan.md', 'file').op)
  const file = await ana.ws.openFile(project, op!.node)
  await file.insert(0, 'plan\n')
  connect(ana, ben)
  await until('hello', () => ben.ws.session(ana.self)?.ready === true)
  const code = await ana.ws.createInvite(project.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  ben.ws.redeemWith(ben.ws.session(ana.self)!, decodeInvite(code))
  await until('ben has the file', () => ben.ws.doc(file.docId)?.text === 'plan\n')
  const bens = ben.ws.doc(file.docId)!
  return { ana, ben, file, bens }
}

describe('seal retries in anti-entropy rounds', () => {
  it('an idle file leaves the rounds, and an edit or a seal brings it back', async () => {
    const { ana, ben, file, bens } = await sharedFile()

    const anas = countRetries(file)
    await bothQuiet(ana, file, ben, bens)
    anas.calls = 0
    for (let i = 0; i < 3; i++) {
      ana.ws.syncAll()
      await settle()
    }
    expect(anas.calls).toBe(0) // idle: not walked

    await file.insert(5, 'more\n')
    expect(file.sealRoundPending).toBe(true)
    ana.ws.syncAll()
    expect(anas.calls).toBe(1)
    await until('ben has the edit', () => bens.text === 'plan\nmore\n')
    // Its seal, made once typing pauses (a second), is a change too: then both leave the rounds again.
    await new Promise((r) => setTimeout(r, 1_200))
    await bothQuiet(ana, file, ben, bens)
    const replica = file.durable.replica
    const { provenance } = (bens as unknown as { authors: { provenance: Provenance } }).authors
    expect(provenance.sealOf(replica)?.counter).toBe(file.durable.text.seenOf(replica))
  }, 10_000)

  it('ops held for a seal keep their document in the rounds while nothing else happens', async () => {
    const { ana, ben, file, bens } = await sharedFile()
    await roundsUntilQuiet(ben, bens)

    // Ops of ana's replica past her seal, held by ben for one (as from a peer that relayed them), and
    // ana gone: nothing happens to the document from now on, but each round still walks it.
    const { provenance } = (bens as unknown as { authors: { provenance: Provenance } }).authors
    const replica = file.durable.replica
    const entry = {
      replica,
      first: 6,
      last: 99,
      batch: new Uint8Array(1),
      from: null,
      sentTo: [],
      catchUp: false,
    }
    expect(provenance.hold(entry)).toBe(true)
    ben.ws.disconnect(ana.self)
    await until('ana gone', () => ben.ws.session(ana.self) === undefined)
    const walked = countRetries(bens)
    for (let i = 0; i < 3; i++) {
      ben.ws.syncAll()
      await settle()
    }
    expect(walked.calls).toBe(3)
    expect(bens.sealRoundPending).toBe(true)
  })
})
