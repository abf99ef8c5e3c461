/**
 * A shared folder's file tree kept by DurableDoc (src/shared/tree, tree-part.ts): this replica's
 * changes and peers' ops are durable before they are acknowledged, survive a restart through the log
 * and through a snapshot, keep their signatures, and come back as batches a peer takes. Snapshots of
 * the layout before the tree (version 3) still open.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/main/net/device-key'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import { treeSigner } from '../../../src/main/node/signed-tree'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { FileStore } from '../../../src/main/storage/file-store'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import { LwwMap, TextDoc } from '../../../src/shared/crdt'
import { MemberLog } from '../../../src/shared/members/member-log'
import { FileTree } from '../../../src/shared/tree/file-tree'
import { decodeTreePart, encodeTreePart } from '../../../src/shared/tree/tree-part'
import { ROOT, type TreeOp } from '../../../src/shared/tree/tree-ops'

const DOC = 'doc'
let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-durable-tree-'))
})
afterEach(() => rm(root, { recursive: true, force: true }))

const listing = (tree: FileTree): string[] =>
  tree.list().map((e) => `${e.path}${e.kind === 'folder' ? '/' : ''}`)

describe('DurableDoc: the file tree', () => {
  it('keeps this replica’s signed changes and a peer’s ops through the log and through a snapshot', async () => {
    const dir = join(root, 'docs')
    const sign = treeSigner(DOC, signerFor(generateKeyPair()))
    let doc = await DurableDoc.open(new FileStore({ dir }), DOC)
    doc.signTreeWith(sign)
    let folder = ''
    const batches: Uint8Array[] = [
      await doc.changeTree((t) => {
        const made = t.create(ROOT, 'src', 'folder')
        folder = made.id
        return made.op
      }),
      await doc.changeTree((t) => t.create(folder, 'main.ts', 'file').op),
    ]
    // A peer's op (its own replica), and the same batch again: applied once, stored once.
    const peer = new FileTree('peerReplica1')
    peer.apply(batches.flatMap((b) => decodeTreePart(b).flat()))
    const theirs = peer.create(ROOT, 'README.md', 'file').op
    expect(await doc.applyTree(encodeTreePart([theirs]))).toHaveLength(1)
    expect(await doc.applyTree(encodeTreePart([theirs]))).toEqual([])
    const expected = listing(doc.tree)
    expect(expected).toEqual(['README.md', 'src/', 'src/main.ts'])
    const signed = doc.tree.opsSince({}).filter((op) => op.replica === doc.replica)
    expect(signed.every((op) => op.sig?.length === 64)).toBe(true)
    await doc.close()

    // Through the log (a close with few records does not compact), then through a snapshot.
    for (const compact of [false, true]) {
      doc = await DurableDoc.open(new FileStore({ dir }), DOC)
      expect(listing(doc.tree)).toEqual(expected)
      expect(doc.tree.opsSince({}).filter((op) => op.sig)).toEqual(signed)
      if (compact) await doc.compact()
      await doc.close()
    }
    doc = await DurableDoc.open(new FileStore({ dir }), DOC)
    expect(listing(doc.tree)).toEqual(expected)
    // What a peer lacks, as batches it takes.
    const fresh = new FileTree('freshReplica')
    for (const batch of decodeTreePart(await doc.treeChangesSince({}))) fresh.apply(batch)
    expect(listing(fresh)).toEqual(expected)
    expect(await doc.treeChangesSince(doc.tree.version())).toEqual(new Uint8Array(0))
    await doc.close()
  })

  it('keeps a tree of more ops than one batch holds through a snapshot', async () => {
    const backing: MemoryBacking = new Map()
    const author = new FileTree('authorRepli')
    const ops: TreeOp[] = []
    const made = author.create(ROOT, 'f', 'file')
    ops.push(made.op)
    for (let i = 0; i < 12_000; i++) ops.push(author.rename(made.id, `name-${i}`))
    let doc = await DurableDoc.open(new MemoryStore(backing), DOC)
    for (let i = 0; i < ops.length; i += 5000) await doc.applyTree(encodeTreePart(ops.slice(i, i + 5000)))
    await doc.compact()
    await doc.close()
    doc = await DurableDoc.open(new MemoryStore(backing), DOC)
    expect(backing.get(DOC)!.records).toEqual([])
    expect(listing(doc.tree)).toEqual(['name-11999'])
    expect(doc.tree.opsSince({})).toHaveLength(12_001)
    expect(decodeTreePart(await doc.treeChangesSince({}))).toHaveLength(2)
    await doc.close()
  })

  it('opens a snapshot written before the tree (version 3), with an empty tree', async () => {
    const text = new TextDoc('writer01')
    text.localInsert(0, 'kept')
    const parts = [
      text.saveState(),
      new LwwMap('writer01').save(),
      new LwwMap('writer01').save(),
      new MemberLog(DOC, memberCrypto).save(),
    ]
    const header = new Uint8Array(18)
    const view = new DataView(header.buffer)
    header[0] = 3
    header[1] = 2 // the state form
    parts.forEach((p, i) => view.setUint32(2 + 4 * i, p.byteLength, true))
    const snapshot = Buffer.concat([header, ...parts]) // no seals: an empty tail
    const backing: MemoryBacking = new Map([[DOC, { snapshot, history: [], records: [] }]])
    const doc = await DurableDoc.open(new MemoryStore(backing), DOC)
    expect(doc.text.toString()).toBe('kept')
    expect(doc.tree.list()).toEqual([])
    await doc.close()
  })
})
