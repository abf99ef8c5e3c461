/**
 * File documents closed while idle (issue 15: memory grows with the files in use, not with the files
 * in the project; src/main/node/workspace.ts `closeIdleFiles`): a file document nobody uses is closed
 * after `fileIdleMs`, and opened again, with nothing lost, when a peer sends something about it, when
 * its digest differs from a peer's, or when this device opens it. Only members of the project can
 * make a node open one.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { fileDocId } from '../../../src/main/node/project-files'
import { createConnectedPair } from '../../../src/shared/sync/memory-pair'
import {
  decodeMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  type Message,
} from '../../../src/shared/sync/messages'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { connect, until, type TestNode, nodesOfEachTest } from './cluster'

const node = nodesOfEachTest()
const IDLE_MS = 30_000

/** A clock the test moves on by hand. */
function clock(): { now: () => number; pass: (ms: number) => void } {
  let t = Date.now()
  return { now: () => t, pass: (ms) => void (t += ms) }
}

/**
 * Ana's project with one file, `plan.md`, joined by ben (an editor) once he holds its text. Ana's
 * clock is the test's: her file documents close once it passes IDLE_MS and a round runs.
 */
async function joined(text: string) {
  const time = clock()
  const ana = await node('ana', time.now, { fileIdleMs: IDLE_MS })
  const ben = await node('ben')
  const project = await ana.ws.createDoc('project')
  const [op] = await project.changeTree((t) => t.create(ROOT, 'plan.md', 'file').op)
  const file = await ana.ws.openFile(project, op!.node)
  await file.insert(0, text)
  file.sealPending()
  const fileId = fileDocId(project.docId, op!.node)
  // What ana receives from ben, by message type.
  const received = new Map<string, number>()
  const [fromBen] = connect(ana, ben)
  fromBen.onMessage((f) => {
    const { type } = decodeMessage(f)
    received.set(type, (received.get(type) ?? 0) + 1)
  })
  await until('hello', () => ben.ws.session(ana.self)?.ready === true)
  const code = await ana.ws.createInvite(project.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  ben.ws.redeemWith(ben.ws.session(ana.self)!, decodeInvite(code))
  await until('ben has the file', () => ben.ws.doc(fileId)?.text === text)
  return { ana, ben, time, project, file, fileId, received }
}

/** Runs ana's rounds, with her clock past the idle time, until her copy of `fileId` is closed. */
async function closeOn(owner: TestNode, pass: (ms: number) => void, fileId: string): Promise<DocSession[]> {
  const closed: DocSession[] = []
  owner.ws.on('file-closed', (doc) => closed.push(doc))
  for (let i = 0; i < 5 && owner.ws.doc(fileId); i++) {
    pass(IDLE_MS)
    owner.ws.syncAll()
    await new Promise((r) => setTimeout(r, 10))
  }
  expect(owner.ws.doc(fileId)).toBeUndefined()
  return closed
}

describe('file documents closed while idle', () => {
  it('an idle file closes; a peer’s edits open it again, applied in order, on the same replica', async () => {
    const { ana, ben, time, project, file, fileId } = await joined('plan\n')
    // Not before it has been idle for the whole time, counted from the last time it was asked for.
    ana.ws.syncAll() // its seal work is done: idle since its last change
    time.pass(IDLE_MS - 1)
    ana.ws.syncAll()
    expect(ana.ws.doc(fileId)).toBe(file)
    expect(await ana.ws.openFile(project, ana.ws.fileNode(fileId)!)).toBe(file)
    time.pass(2)
    ana.ws.syncAll()
    expect(ana.ws.doc(fileId)).toBe(file)

    const closed = await closeOn(ana, time.pass, fileId)
    expect(closed).toEqual([file])
    expect(ana.ws.filesOf(file.project!)).toEqual([])
    await expect(file.insert(0, 'x')).rejects.toThrow() // its store is closed

    // Three edits sent one after another while ana's copy is closed: the first opens it, the others
    // wait for the open, and all are applied in order.
    const bens = ben.ws.doc(fileId)!
    await Promise.all([bens.insert(5, 'one\n'), bens.insert(5, 'two\n'), bens.insert(5, 'three\n')])
    await until('ana has ben’s edits', () => ana.ws.doc(fileId)?.text === bens.text)
    expect(bens.text).toBe('plan\nthree\ntwo\none\n')
    const reopened = ana.ws.doc(fileId)!
    expect(reopened).not.toBe(file)
    // Ana's replica of the file is taken up again, not a new one each time it opens.
    expect(reopened.durable.replica).toBe(file.durable.replica)
    await reopened.insert(0, 'ana ')
    await until('ben has ana’s edit', () => bens.text === reopened.text)
    expect(Object.keys(reopened.textVersion()).sort()).toEqual(Object.keys(bens.textVersion()).sort())
    expect(ana.logs.filter((l) => l.includes('closing connection'))).toEqual([])
  })

  it('a closed file answers for itself by its digest: unchanged, it stays closed; changed elsewhere, it is opened and synced', async () => {
    const { ana, ben, time, project, fileId, received } = await joined('plan\n')
    await closeOn(ana, time.pass, fileId)
    // Ben's comparing round lists the file with the digest ana's copy had: nothing to open.
    const before = received.get('file-versions') ?? 0
    ben.ws.syncAll()
    await until('ben compared', () => received.get('file-versions') === before + 1)
    await new Promise((r) => setTimeout(r, 50))
    expect(ana.ws.doc(fileId)).toBeUndefined()
    // And ana's own comparing round names the closed file with that digest: ben finds nothing to ask.
    ana.ws.syncAll()
    await new Promise((r) => setTimeout(r, 50))
    expect(ana.ws.doc(fileId)).toBeUndefined()

    // Apart, ben edits; back together, ana's closed copy is found behind and brought up to date.
    ana.ws.disconnect(ben.self)
    await until('apart', () => ana.ws.session(ben.self) === undefined)
    await ben.ws.doc(fileId)!.insert(0, 'while apart ')
    connect(ana, ben)
    await until('ana has ben’s edit', () => ana.ws.doc(fileId)?.text === 'while apart plan\n', 5000)
    expect(ana.ws.filesOf(project.docId).map((d) => d.docId)).toEqual([fileId])
  })

  it('a close guard keeps a file open; it closes once the guard lets it go', async () => {
    const { ana, time, fileId } = await joined('kept\n')
    const unguard = ana.ws.addCloseGuard((doc) => doc.docId !== fileId)
    for (let i = 0; i < 3; i++) {
      time.pass(IDLE_MS)
      ana.ws.syncAll()
    }
    expect(ana.ws.doc(fileId)).toBeDefined()
    unguard()
    // Busy until the last round that found it kept: idle time counts from there.
    await closeOn(ana, time.pass, fileId)
  })

  it('a closed file renamed by a peer stays closed; a file new to the tree is opened', async () => {
    const { ana, ben, time, project, fileId } = await joined('renamed\n')
    await closeOn(ana, time.pass, fileId)
    const node = ana.ws.fileNode(fileId)!
    const bens = ben.ws.doc(project.docId)!
    await bens.changeTree((t) => t.rename(node, 'plan-v2.md'))
    const [made] = await bens.changeTree((t) => t.create(ROOT, 'new.md', 'file').op)
    const newId = fileDocId(project.docId, made!.node)
    await until('ana has the new file open', () => ana.ws.doc(newId) !== undefined)
    expect(project.durable.tree.path(node)).toBe('plan-v2.md')
    expect(ana.ws.doc(fileId)).toBeUndefined()
  })

  it('a device that is not a member of the project cannot make a node open a closed file', async () => {
    const { ana, time, fileId } = await joined('private\n')
    await closeOn(ana, time.pass, fileId)
    const stranger = new Uint8Array(randomBytes(32))
    const [toAna, fromStranger] = createConnectedPair({
      keys: [stranger, ana.key],
      handshakeHash: new Uint8Array(randomBytes(64)),
    })
    ana.ws.attach(fromStranger)
    const send = (m: Message): void => toAna.send(encodeMessage(m))
    send({ type: 'hello', protocol: PROTOCOL_VERSION, app: 'x', name: 'mallory', gotYours: true })
    send({ type: 'sync-request', docId: fileId, versions: [{}, {}, {}, {}], order: new Uint8Array(0) })
    send({ type: 'seal-request', docId: fileId, replica: 'x', counter: 1 })
    await new Promise((r) => setTimeout(r, 100))
    expect(ana.ws.doc(fileId)).toBeUndefined()
  })

  it('opening a file this device uses again takes up the closed one', async () => {
    const { ana, time, project, file, fileId } = await joined('again\n')
    await closeOn(ana, time.pass, fileId)
    const node = ana.ws.fileNode(fileId)!
    const [a, b] = await Promise.all([ana.ws.openFile(project, node), ana.ws.openFile(project, node)])
    expect(a).toBe(b)
    expect(a.text).toBe('again\n')
    expect(a.durable.replica).toBe(file.durable.replica)
  })
})
