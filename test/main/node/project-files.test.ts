/**
 * File documents of a project (issue 15; src/main/node/project-files.ts): each text file of a shared
 * folder is a document named by its tree node, whose members, roles and keys are the project's. One
 * invite to the project lets a device into every file; a viewer of the project cannot change a file's
 * text, even by sending ops on the wire; a device that is not a member gets nothing of any file.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { NotAllowedError, type DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { fileDocId } from '../../../src/main/node/project-files'
import { createConnectedPair } from '../../../src/shared/sync/memory-pair'
import {
  Channel,
  decodeMessage,
  encodeMessage,
  FILE_DIGEST_BYTES,
  type Message,
} from '../../../src/shared/sync/messages'
import { PROTOCOL_VERSION } from '../../../src/shared/sync/messages'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { connect, until, type TestNode, nodesOfEachTest } from './cluster'

const node = nodesOfEachTest()

/** A project with one file, `plan.md`, holding `text`: the project and the file's node. */
async function project(owner: TestNode, text: string): Promise<{ doc: DocSession; node: string }> {
  const doc = await owner.ws.createDoc('project')
  const [op] = await doc.changeTree((t) => t.create(ROOT, 'plan.md', 'file').op)
  const file = await owner.ws.openFile(doc, op!.node)
  await file.insert(0, text)
  return { doc, node: op!.node }
}

async function join(
  owner: TestNode,
  other: TestNode,
  docId: string,
  role: 'editor' | 'viewer',
): Promise<void> {
  connect(owner, other)
  await until('hello', () => other.ws.session(owner.self)?.ready === true)
  const code = await owner.ws.createInvite(docId, role, [{ host: '127.0.0.1', port: 9 }])
  other.ws.redeemWith(other.ws.session(owner.self)!, decodeInvite(code))
}

/**
 * Ana's project with `files` more files, joined by ben, once he holds every file: what ben sends ana
 * from then on is recorded (the documents he asks about, and the size of each file-versions message).
 */
async function joinedWithFiles(files: number) {
  const ana = await node('ana')
  const ben = await node('ben')
  const { doc } = await project(ana, 'first\n')
  for (let i = 0; i < files; i++) {
    const [op] = await doc.changeTree((t) => t.create(ROOT, `f${i}.md`, 'file').op)
    await (await ana.ws.openFile(doc, op!.node)).insert(0, `file ${i}\n`)
  }
  const [toBen] = connect(ana, ben)
  await until('hello', () => ben.ws.session(ana.self)?.ready === true)
  const code = await ana.ws.createInvite(doc.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  ben.ws.redeemWith(ben.ws.session(ana.self)!, decodeInvite(code))
  await until(
    'ben has every file',
    () => ben.ws.filesOf(doc.docId).filter((f) => f.text !== '').length === files + 1,
  )
  const asked: string[] = []
  const digests: number[] = []
  toBen.onMessage((frame) => {
    const m = decodeMessage(frame)
    if (m.type === 'sync-request') asked.push(m.docId)
    if (m.type === 'file-versions') digests.push(m.files.length)
  })
  return { ana, ben, doc, toBen, asked, digests }
}

describe('file documents of a project', () => {
  it('one invite to the project brings every file, and edits flow both ways under the project', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc, node: plan } = await project(ana, 'plan\n')
    await join(ana, ben, doc.docId, 'editor')
    const fileId = fileDocId(doc.docId, plan)
    await until('ben has the file', () => ben.ws.doc(fileId)?.text === 'plan\n')
    const bens = ben.ws.doc(fileId)!
    expect(bens.project).toBe(doc.docId)
    expect(bens.myRole).toBe('editor')
    // No member list of its own: the project's.
    expect(bens.durable.members.size).toBe(0)
    expect(
      bens
        .members()
        .map((m) => m.device)
        .sort(),
    ).toEqual([ana.self, ben.self].sort())
    // Not a document of its own to list (the start screen, LAN hints): the project is.
    expect(ben.ws.openDocs().map((d) => d.docId)).toEqual([doc.docId])
    expect(ben.ws.filesOf(doc.docId)).toEqual([bens])

    await bens.insert(5, 'by ben\n')
    await until('ana has ben’s edit', () => ana.ws.doc(fileId)?.text === 'plan\nby ben\n')
    // A file made later reaches ben too, with no new invite or proof.
    const [op] = await doc.changeTree((t) => t.create(ROOT, 'later.md', 'file').op)
    const later = await ana.ws.openFile(doc, op!.node)
    await later.insert(0, 'later')
    await until('ben has the later file', () => ben.ws.doc(later.docId)?.text === 'later')
    // Files take no proof of their own: the file IDs were never authenticated one by one.
    expect(ben.logs.filter((l) => l.includes('refused') || l.includes('malformed'))).toEqual([])
  })

  it('a viewer of the project cannot change a file, even with ops sent on the wire', async () => {
    const ana = await node('ana')
    const vic = await node('vic')
    const { doc, node: plan } = await project(ana, 'read only\n')
    await join(ana, vic, doc.docId, 'viewer')
    const fileId = fileDocId(doc.docId, plan)
    await until('vic has the file', () => vic.ws.doc(fileId)?.text === 'read only\n')
    const vics = vic.ws.doc(fileId)!
    await expect(vics.insert(0, 'x')).rejects.toBeInstanceOf(NotAllowedError)
    // Past the node's own check: an op made on its replica and sent as an update.
    const batch = vics.durable.stageInsert(0, 'forged ').value
    const session = vic.ws.session(ana.self)!
    expect(session.isAuthenticated(fileId)).toBe(true) // ana proved the project to vic
    session.sendUpdate(fileId, Channel.Text, batch)
    await until('ana refused it', () => ana.logs.some((l) => l.includes('from viewer')))
    expect(ana.ws.doc(fileId)!.text).toBe('read only\n')
    // Nor can a viewer change the tree.
    await expect(vic.ws.doc(doc.docId)!.changeTree((t) => t.create(ROOT, 'x.md', 'file').op)).rejects.toThrow(
      NotAllowedError,
    )
  })

  it('a device that is not a member gets nothing of a file, whatever it asks', async () => {
    const ana = await node('ana')
    const { doc, node: plan } = await project(ana, 'secret\n')
    const fileId = fileDocId(doc.docId, plan)
    const strangerKey = new Uint8Array(randomBytes(32))
    const [toAna, fromStranger] = createConnectedPair({
      keys: [strangerKey, ana.key],
      handshakeHash: new Uint8Array(randomBytes(64)),
    })
    ana.ws.attach(fromStranger)
    const got: Message[] = []
    toAna.onMessage((f) => got.push(decodeMessage(f)))
    const send = (m: Message): void => toAna.send(encodeMessage(m))
    send({ type: 'hello', protocol: PROTOCOL_VERSION, app: 'x', name: 'mallory', gotYours: true })
    // A proof for the file made with a key it does not hold, and requests as if it had proven it.
    for (const id of [fileId, doc.docId])
      send({ type: 'doc-auth', docId: id, epoch: 0, proof: new Uint8Array(32), verified: true })
    send({ type: 'sync-request', docId: fileId, versions: [{}, {}, {}, {}], order: new Uint8Array(0) })
    send({ type: 'seal-request', docId: fileId, replica: 'x', counter: 1 })
    await until('denied twice', () => got.filter((m) => m.type === 'doc-deny').length >= 2)
    await new Promise((r) => setTimeout(r, 100))
    const data = got.filter((m) => m.type !== 'hello' && m.type !== 'doc-deny' && m.type !== 'shared-docs')
    expect(data).toEqual([])
    // The file's denial is the one a stranger gets for any ID: it learns nothing of which exist.
    const denials = got.filter((m) => m.type === 'doc-deny')
    expect(new Set(denials.map((m) => (m.type === 'doc-deny' ? m.reason : '')))).toHaveProperty('size', 1)
  })

  it('a member removed from the project loses every file', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc, node: plan } = await project(ana, 'v1\n')
    await join(ana, ben, doc.docId, 'editor')
    const fileId = fileDocId(doc.docId, plan)
    await until('ben has the file', () => ben.ws.doc(fileId)?.text === 'v1\n')
    await doc.removeMember(ben.self)
    await until(
      'ana no longer syncs the file with ben',
      () => !ana.ws.session(ben.self)?.isAuthenticated(fileId),
    )
    await ana.ws.doc(fileId)!.insert(3, 'v2\n')
    await new Promise((r) => setTimeout(r, 100))
    expect(ben.ws.doc(fileId)!.text).toBe('v1\n')
  })

  it('anti-entropy asks about a file when it changed, and compares every file by digest every tenth round', async () => {
    const { ben, doc, asked, digests } = await joinedWithFiles(9)
    const round = async (): Promise<{ asked: string[]; digests: number[] }> => {
      asked.length = 0
      digests.length = 0
      ben.ws.syncAll()
      await new Promise((r) => setTimeout(r, 30))
      return { asked: [...asked], digests: [...digests] }
    }
    // The first round: the project's request, and one message with the ten files' digests. Ana's
    // digests are ben's: she asks about none of them, and so ben is asked nothing either.
    expect(await round()).toEqual({ asked: [doc.docId], digests: [10] })
    expect(await round()).toEqual({ asked: [doc.docId], digests: [] }) // idle: the project only
    const one = ben.ws.filesOf(doc.docId)[3]!
    await one.insert(0, 'ben\n')
    expect((await round()).asked.sort()).toEqual([doc.docId, one.docId].sort())
    for (let i = 0; i < 7; i++) expect(await round()).toEqual({ asked: [doc.docId], digests: [] })
    expect(await round()).toEqual({ asked: [doc.docId], digests: [10] }) // the eleventh, as the first
  })

  it('a comparing round sends no digests when nothing changed since the last and the peer found no difference', async () => {
    const { ana, ben, doc, toBen, asked, digests } = await joinedWithFiles(4)
    /** Ten rounds of ben's, the first of them a comparing one: what ben sent ana. */
    const tenRounds = async (): Promise<{ asked: string[]; digests: number[] }> => {
      asked.length = 0
      digests.length = 0
      for (let i = 0; i < 10; i++) ben.ws.syncAll()
      await new Promise((r) => setTimeout(r, 30))
      return { asked: [...new Set(asked)], digests: [...digests] }
    }
    expect(await tenRounds()).toEqual({ asked: [doc.docId], digests: [5] }) // the first since the join
    // Nothing changed on either side, and ana's digests (sent as she authenticated ben) were ben's.
    expect(await tenRounds()).toEqual({ asked: [doc.docId], digests: [] })
    expect(await tenRounds()).toEqual({ asked: [doc.docId], digests: [] })

    // A file ana edits changes at ben too: ben's next comparing round tells ana again.
    const edited = ana.ws.filesOf(doc.docId)[2]!
    await edited.insert(0, 'ana\n')
    await until('ben has it', () => ben.ws.doc(edited.docId)?.text === edited.text)
    expect((await tenRounds()).digests).toEqual([5])
    expect((await tenRounds()).digests).toEqual([])

    // A digest of ana's that differs from ben's (a lost update, here made up): ben asks about that file,
    // and tells ana his digests at every comparing round until they agree.
    const other = ben.ws.filesOf(doc.docId)[1]!
    toBen.send(
      encodeMessage({
        type: 'file-versions',
        docId: doc.docId,
        files: [{ file: other.docId, digest: new Uint8Array(FILE_DIGEST_BYTES) }],
      }),
    )
    await until('ben asked', () => asked.includes(other.docId))
    expect((await tenRounds()).digests).toEqual([5])
    expect((await tenRounds()).digests).toEqual([])
  })

  it('opens at most maxFilesPerProject files of a project, however many its tree names', async () => {
    const ana = await node('ana')
    const ben = await node('ben', undefined, { maxFilesPerProject: 3 })
    const { doc } = await project(ana, 'one\n')
    await doc.changeTree((t) => [1, 2, 3, 4].map((i) => t.create(ROOT, `f${i}.md`, 'file').op))
    await join(ana, ben, doc.docId, 'editor')
    await until('ben has the tree', () => ben.ws.doc(doc.docId)?.durable.tree.list().length === 5)
    await until('ben opened what he may', () => ben.ws.filesOf(doc.docId).length === 3)
    await until('and said why not the rest', () => ben.logs.some((l) => l.includes('at most 3 files')))
    expect(ana.ws.filesOf(doc.docId)).toHaveLength(5)
  })

  it('drops member and tree ops sent on a file: a file has none of its own', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc, node: plan } = await project(ana, 'plan\n')
    await join(ana, ben, doc.docId, 'editor')
    const fileId = fileDocId(doc.docId, plan)
    await until('ben has the file', () => ben.ws.doc(fileId)?.text === 'plan\n')
    // Ben's project's own member and tree batches, replayed on the file's channels.
    const bens = ben.ws.doc(doc.docId)!
    const members = await bens.durable.memberChangesSince({})
    const tree = await bens.durable.treeChangesSince({})
    const session = ben.ws.session(ana.self)!
    session.sendUpdate(fileId, Channel.Members, members)
    session.sendUpdate(fileId, Channel.Tree, tree)
    await until(
      'ana dropped both',
      () => ana.logs.filter((l) => l.includes('a file of a project has none')).length === 2,
    )
    const file = ana.ws.doc(fileId)!
    expect(file.durable.members.size).toBe(0)
    expect(file.durable.tree.list()).toEqual([])
  })
})
