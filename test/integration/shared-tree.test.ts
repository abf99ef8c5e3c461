/**
 * A shared folder's file tree on the document session (Channel.Tree; src/shared/tree), over TCP +
 * Noise on 127.0.0.1 between real PeerNodes: each op signed by its author's device, live and relayed,
 * in sync replies to a peer that was away or joins late, durable across a restart; and what a hostile
 * member or a viewer sends in the tree is refused (docs/PROTOCOL.md, "Edits bound to their author").
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { DocSession } from '../../src/main/node/doc-session'
import { signerFor } from '../../src/main/node/crypto'
import { treeSigner } from '../../src/main/node/signed-tree'
import { encodeTreePart } from '../../src/shared/tree/tree-part'
import { Channel, type Message } from '../../src/shared/sync/messages'
import { FileTree } from '../../src/shared/tree/file-tree'
import { ROOT, type TreeOp } from '../../src/shared/tree/tree-ops'
import { connectMember, device, processed, ProtocolClient, type Device } from './protocol-client'
import { TcpCluster, type TcpNode } from './tcp-nodes'
import { sleep, until } from './util'

const clients: ProtocolClient[] = []
const paths = (doc: DocSession): string[] => doc.durable.tree.list().map((e) => e.path)

async function connectAs(dev: Device, node: TcpNode, doc: DocSession): Promise<ProtocolClient> {
  const c = await connectMember(dev, node.node.port, doc)
  clients.push(c)
  return c
}

const treeUpdate = (docId: string, ops: TreeOp[]): Message => ({
  type: 'update',
  docId,
  channel: Channel.Tree,
  batch: encodeTreePart(ops),
  sentTo: [],
})

describe('the file tree on the document session, over TCP + Noise', () => {
  const cluster = new TcpCluster()
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)))
    await cluster.closeAll()
  })
  afterAll(() => cluster.closeAll())

  it('reaches every member live and relayed, by catch-up after time away and on a late join, and survives a restart', async () => {
    const owner = await cluster.start('owner')
    const ed = await cluster.start('ed')
    let carol = await cluster.start('carol')
    const doc = await cluster.createDoc(owner, '')
    const edDoc = await cluster.join(owner, ed, doc.docId, 'owner')
    let carolDoc = await cluster.join(ed, carol, doc.docId)
    expect(carol.node.workspace.session(owner.self)).toBeUndefined() // carol hears the owner through ed

    let src = ''
    await doc.changeTree((t) => {
      const made = t.create(ROOT, 'src', 'folder')
      src = made.id
      return made.op
    })
    let main = ''
    await doc.changeTree((t) => {
      const made = t.create(src, 'main.ts', 'file')
      main = made.id
      return made.op
    })
    await until('carol has the tree', () => paths(carolDoc).join() === 'src,src/main.ts', 10_000)
    await edDoc.changeTree((t) => t.rename(main, 'index.ts'))
    await until(
      'the rename everywhere',
      () => [doc, carolDoc].every((d) => paths(d).includes('src/index.ts')),
      10_000,
    )
    expect(doc.durable.tree.opsSince({}).every((op) => op.sig?.length === 64)).toBe(true)

    // Carol is away (working offline) while the owner moves the file out and ed deletes the folder.
    carol.node.setOnline(false)
    await until('carol offline', () => carol.node.workspace.peers().length === 0, 5000)
    await doc.changeTree((t) => t.move(main, ROOT))
    await edDoc.changeTree((t) => t.remove(src))
    await sleep(200)
    expect(paths(carolDoc)).toEqual(['src', 'src/index.ts'])
    carol.node.setOnline(true)
    await until('carol caught up', () => paths(carolDoc).join() === 'index.ts', 10_000)
    // Her tree is on her disk: a restart opens it as it was.
    carol = await cluster.restart(carol)
    carolDoc = carol.node.workspace.doc(doc.docId)!
    expect(paths(carolDoc)).toEqual(['index.ts'])

    // A member who joins now gets the whole tree in the sync reply.
    const dave = await cluster.start('dave')
    const daveDoc = await cluster.join(owner, dave, doc.docId)
    await until('dave has the tree', () => paths(daveDoc).join() === 'index.ts', 10_000)
    for (const d of [edDoc, carolDoc, daveDoc])
      expect(d.durable.tree.version()).toEqual(doc.durable.tree.version())
  })

  it('sends a tree of more ops than one batch holds to a joiner (one batch per reply)', async () => {
    const owner = await cluster.start('owner')
    const doc = await cluster.createDoc(owner, '')
    let file = ''
    await doc.changeTree((t) => {
      const made = t.create(ROOT, 'f.txt', 'file')
      file = made.id
      return made.op
    })
    // 12,000 renames by the owner's replica, signed with its key, made apart and stored at once.
    const author = new FileTree(doc.durable.replica)
    author.apply(doc.durable.tree.opsSince({}))
    author.signWith(treeSigner(doc.docId, signerFor(owner.node.identity)))
    const renames: TreeOp[] = []
    for (let i = 0; i < 12_000; i++) renames.push(author.rename(file, `name-${i}.txt`))
    await doc.durable.applyTree(encodeTreePart(renames))
    const joiner = await cluster.start('joiner')
    const joined = await cluster.join(owner, joiner, doc.docId)
    await until('the joiner has the whole tree', () => paths(joined).join() === 'name-11999.txt', 20_000)
    expect(joined.durable.tree.version()).toEqual(doc.durable.tree.version())
  })

  it('refuses ops forged in another device’s name, and any tree op from a viewer', async () => {
    const owner = await cluster.start('owner')
    const ed = await cluster.start('ed')
    const doc = await cluster.createDoc(owner, 'text')
    const edDoc = await cluster.join(owner, ed, doc.docId)
    await doc.changeTree((t) => t.create(ROOT, 'plan.md', 'file').op)
    await until('ed has the tree', () => paths(edDoc).join() === 'plan.md', 10_000)
    const before = doc.durable.tree.version()

    // Mallory, an editor, deletes the owner's file under the owner's replica and next counter, signed
    // with her own key.
    const mallory = device('mallory')
    await doc.setMember(mallory.key, 'editor', mallory.name)
    await until('ed knows mallory', () => edDoc.roleOf(mallory.key) === 'editor', 10_000)
    const replica = doc.durable.replica
    const copy = new FileTree(replica)
    copy.apply(doc.durable.tree.opsSince({}))
    copy.signWith(treeSigner(doc.docId, mallory.sign))
    const forged = copy.remove(copy.list()[0]!.id)
    const atEd = await connectAs(mallory, ed, edDoc)
    atEd.send(treeUpdate(doc.docId, [forged]))
    await until('ed cut mallory off', () => ed.log.lines.some((l) => l.includes('forged tree ops')), 5000)

    // Vic, a viewer, sends an op of his own (signed by him): refused as any viewer's edit is.
    const vic = device('vic')
    await doc.setMember(vic.key, 'viewer', vic.name)
    const atOwner = await connectAs(vic, owner, doc)
    const own = new FileTree('vicReplica01')
    own.apply(doc.durable.tree.opsSince({}))
    own.signWith(treeSigner(doc.docId, vic.sign))
    atOwner.send(treeUpdate(doc.docId, [own.create(ROOT, 'vic.md', 'file').op]))
    await processed(atOwner)
    await atOwner.waitFor((m) => m.type === 'doc-deny' && m.code === 'read-only', 5000)

    await sleep(300)
    for (const d of [doc, edDoc]) {
      expect(paths(d)).toEqual(['plan.md'])
      expect(d.durable.tree.version()).toEqual(before)
    }
  })
})
