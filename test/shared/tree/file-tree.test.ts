import { describe, expect, it } from 'vitest'
import { CrdtDecodeError } from '../../../src/shared/crdt/types'
import { FileTree } from '../../../src/shared/tree/file-tree'
import { displayNames, withSuffix } from '../../../src/shared/tree/names'
import {
  checkStampWindow,
  decodeOps,
  encodeOps,
  ROOT,
  TRASH,
  type TreeOp,
} from '../../../src/shared/tree/tree-ops'
import { checkNoCycles, paths, replica, send, syncAll } from './helpers'

/** Two replicas that share a folder "docs" and a file "a.md" in the root. */
function shared() {
  const a = replica('alice')
  const b = replica('bob')
  const docs = a.at(1000).create(ROOT, 'docs', 'folder').id
  const file = a.at(1001).create(ROOT, 'a.md', 'file').id
  syncAll(a.tree, b.tree)
  return { a, b, docs, file }
}

describe('FileTree, local use', () => {
  it('creates, moves, renames and removes, with paths', () => {
    const { tree } = replica('r')
    const docs = tree.create(ROOT, 'docs', 'folder').id
    const sub = tree.create(docs, 'sub', 'folder').id
    const f = tree.create(sub, 'x.md', 'file').id
    expect(tree.path(f)).toBe('docs/sub/x.md')
    tree.move(f, ROOT, 'y.md')
    expect(tree.path(f)).toBe('y.md')
    tree.rename(docs, 'papers')
    expect(paths(tree)).toEqual(['papers', 'papers/sub', 'y.md'])
    tree.remove(docs)
    expect(paths(tree)).toEqual(['y.md'])
    expect(tree.path(sub)).toBeUndefined()
    expect(tree.place(docs)?.parent).toBe(TRASH)
    tree.move(docs, ROOT, 'papers') // restore from the trash, with all it held
    expect(paths(tree)).toEqual(['papers', 'papers/sub', 'y.md'])
    expect(tree.path(ROOT)).toBe('')
  })

  it('refuses bad names, moves into a file, into itself or its own child', () => {
    const { tree } = replica('r')
    const d = tree.create(ROOT, 'd', 'folder').id
    const c = tree.create(d, 'c', 'folder').id
    const f = tree.create(ROOT, 'f', 'file').id
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256), 'é'.repeat(128), '\uD800']) {
      expect(() => tree.create(ROOT, name, 'file')).toThrow(RangeError)
    }
    tree.create(ROOT, 'é'.repeat(127), 'file') // 254 bytes: fine
    expect(() => tree.create(f, 'x', 'file')).toThrow(RangeError)
    expect(() => tree.move(d, d, 'd')).toThrow(RangeError)
    expect(() => tree.move(d, c, 'd')).toThrow(RangeError)
    expect(() => tree.move('nope', ROOT, 'x')).toThrow(RangeError)
    expect(() => tree.create(TRASH, 'x', 'file')).toThrow(RangeError)
  })

  it("lists what was deleted, latest first, each with where it was; a folder's contents go with it", () => {
    const { tree, at } = replica('r')
    const docs = at(1000).create(ROOT, 'docs', 'folder').id
    const notes = at(1001).create(docs, 'notes.md', 'file').id
    const inside = at(1002).create(docs, 'inside.md', 'file').id
    const top = at(1003).create(ROOT, 'top.md', 'file').id
    at(1004).remove(notes)
    at(1005).remove(top)
    at(1006).remove(docs) // inside.md goes with it, and is not listed apart
    expect(tree.deleted()).toEqual([
      {
        id: docs,
        name: 'docs',
        kind: 'folder',
        from: { parent: ROOT, name: 'docs' },
        stamp: expect.anything(),
      },
      {
        id: top,
        name: 'top.md',
        kind: 'file',
        from: { parent: ROOT, name: 'top.md' },
        stamp: expect.anything(),
      },
      {
        id: notes,
        name: 'notes.md',
        kind: 'file',
        from: { parent: docs, name: 'notes.md' },
        stamp: expect.anything(),
      },
    ])
    expect(tree.deleted().map((d) => d.stamp.wall)).toEqual([1006, 1005, 1004])
    expect(tree.deleted(1).map((d) => d.id)).toEqual([docs])
    expect(tree.place(inside)?.parent).toBe(docs)
    expect(tree.deletedFrom(notes)).toEqual({ parent: docs, name: 'notes.md' })
    expect(tree.deletedFrom(inside)).toBeUndefined() // in a deleted folder: it goes back with it
    // Put back where it was: out of the list, and the folder with all it held.
    at(1007).move(docs, ROOT)
    expect(tree.deleted().map((d) => d.id)).toEqual([top, notes])
    expect(paths(tree)).toEqual(['docs', 'docs/inside.md'])
    at(1008).move(notes, docs)
    expect(paths(tree)).toEqual(['docs', 'docs/inside.md', 'docs/notes.md'])
  })

  it("lists a peer's deletes as it does its own, with the place they were in on that peer", () => {
    const { a, b, docs, file } = shared()
    a.tree.move(file, docs)
    const op = b.at(2000).remove(file) // concurrent with the move, and later: it wins
    syncAll(a.tree, b.tree)
    send(a.tree, [op])
    for (const t of [a.tree, b.tree]) {
      const [gone] = t.deleted()
      expect(gone).toMatchObject({ id: file, name: 'a.md', kind: 'file' })
      // The delete undid the move on both: where it was at the delete's place in the order.
      expect(gone!.from).toEqual({ parent: docs, name: 'a.md' })
    }
  })

  it('folds names on a device whose file system takes case and normalisation for nothing, and only there', () => {
    const { tree } = replica('r')
    const upper = tree.create(ROOT, 'README.md', 'file').id
    const lower = tree.create(ROOT, 'readme.md', 'file').id
    tree.create(ROOT, 'readme (2).md', 'file') // the suffix must not take a name that folds to this
    tree.create(ROOT, 'caf\u00e9.txt', 'file') // é as one code point…
    const nfd = tree.create(ROOT, 'cafe\u0301.txt', 'file').id // …and as two
    expect(paths(tree)).toEqual([
      'README.md',
      'cafe\u0301.txt',
      'caf\u00e9.txt',
      'readme (2).md',
      'readme.md',
    ])
    expect(tree.sameName('README.md', 'readme.md')).toBe(false)
    tree.foldNames()
    expect(tree.path(upper)).toBe('README.md')
    expect(tree.path(lower)).toBe('readme (3).md')
    expect(tree.path(nfd)).toBe('cafe\u0301 (2).txt')
    const folded = paths(tree).map((p) => p.normalize('NFC').toLowerCase())
    expect(new Set(folded).size).toBe(folded.length)
    expect(tree.sameName('README.md', 'readme.md')).toBe(true)
    expect(tree.sameName('caf\u00e9.txt', 'CAFE\u0301.TXT')).toBe(true)
  })

  it('shows names Windows refuses as names it takes, on a Windows device only, each still its own', () => {
    const { tree } = replica('r')
    for (const name of [
      'aux.c',
      'CON',
      'lpt1.txt',
      'what?.md',
      'a<b>:c|d*e"f',
      'notes.',
      'trail ',
      'auxiliary.c',
    ])
      tree.create(ROOT, name, 'file')
    const taken = tree.create(ROOT, 'aux_.c', 'file').id // the name the first one is written as
    const before = paths(tree)
    tree.windowsNames()
    expect(paths(tree)).toEqual([
      'CON_',
      'a_b__c_d_e_f',
      'aux_ (2).c',
      'aux_.c',
      'auxiliary.c',
      'lpt1_.txt',
      'notes_',
      'trail_',
      'what_.md',
    ])
    // The first placed keeps the name: aux.c was made before aux_.c.
    expect(tree.path(taken)).toBe('aux_ (2).c')
    expect(before).toContain('aux.c') // only this device's view changed
  })

  it('encodes and decodes batches exactly', () => {
    const { tree } = replica('r')
    const d = tree.create(ROOT, 'dossier ü 😀', 'folder')
    const f = tree.create(d.id, 'f', 'file')
    const ops = [d.op, f.op, tree.rename(f.id, 'g'), tree.remove(d.id)]
    expect(decodeOps(encodeOps(ops))).toEqual(ops)
    expect(decodeOps(encodeOps([]))).toEqual([])
  })
})

describe('FileTree conflicts', () => {
  it('a move concurrent with a delete: the later op wins, the same everywhere', () => {
    for (const deleteLater of [false, true]) {
      const { a, b, docs, file } = shared()
      const del = a.at(deleteLater ? 3000 : 2000).remove(file)
      const mv = b.at(deleteLater ? 2000 : 3000).move(file, docs, 'a.md')
      send(a.tree, [mv])
      send(b.tree, [del])
      expect(paths(a.tree)).toEqual(paths(b.tree))
      expect(paths(a.tree)).toEqual(deleteLater ? ['docs'] : ['docs', 'docs/a.md'])
      expect(a.tree.place(file)?.parent).toBe(deleteLater ? TRASH : docs)
    }
  })

  it('a move into a folder deleted concurrently ends in the trash with it, restorable', () => {
    const { a, b, docs, file } = shared()
    a.at(2000).remove(docs)
    b.at(2001).move(file, docs, 'a.md')
    syncAll(a.tree, b.tree)
    expect(paths(a.tree)).toEqual([])
    expect(paths(b.tree)).toEqual([])
    b.at(3000).move(docs, ROOT, 'docs')
    syncAll(a.tree, b.tree)
    expect(paths(a.tree)).toEqual(['docs', 'docs/a.md'])
  })

  it('two renames of one file: one wins, the same everywhere', () => {
    const { a, b, file } = shared()
    a.at(2000).rename(file, 'from-alice.md')
    b.at(2000).rename(file, 'from-bob.md') // same wall time: the larger replica ID wins
    syncAll(a.tree, b.tree)
    expect(paths(a.tree)).toEqual(['docs', 'from-bob.md'])
    expect(paths(b.tree)).toEqual(paths(a.tree))
  })

  it('a rename concurrent with a move of one file: both take effect, in either order', () => {
    for (const renameLater of [false, true]) {
      const { a, b, docs, file } = shared()
      a.at(renameLater ? 3000 : 2000).rename(file, 'renamed.md')
      b.at(renameLater ? 2000 : 3000).move(file, docs)
      syncAll(a.tree, b.tree)
      expect(paths(a.tree)).toEqual(['docs', 'docs/renamed.md'])
      expect(b.tree.list()).toEqual(a.tree.list())
    }
  })

  it('two files created at one path: both survive, the later one shown with a suffix', () => {
    const { a, b, docs } = shared()
    const fa = a.at(2000).create(docs, 'notes.md', 'file').id
    const fb = b.at(1999).create(docs, 'notes.md', 'file').id
    syncAll(a.tree, b.tree)
    for (const t of [a.tree, b.tree]) {
      expect(t.path(fb)).toBe('docs/notes.md')
      expect(t.path(fa)).toBe('docs/notes (2).md')
      expect(t.place(fa)?.name).toBe('notes.md') // stored names stay as written
    }
    expect(a.tree.list()).toEqual(b.tree.list())
  })

  it('a suffix never takes a name another file has', () => {
    const { a, b, docs } = shared()
    a.at(2000).create(docs, 'notes (2).md', 'file')
    const late = a.at(2002).create(docs, 'notes.md', 'file').id
    b.at(2001).create(docs, 'notes.md', 'file')
    syncAll(a.tree, b.tree)
    expect(a.tree.path(late)).toBe('docs/notes (3).md')
    expect(paths(a.tree)).toEqual(['a.md', 'docs', 'docs/notes (2).md', 'docs/notes (3).md', 'docs/notes.md'])
    expect(b.tree.list()).toEqual(a.tree.list())
    expect(withSuffix('.bashrc', 2)).toBe('.bashrc (2)')
    expect(withSuffix('Makefile', 3)).toBe('Makefile (3)')
    expect(
      displayNames([
        { id: '1', name: 'x' },
        { id: '2', name: 'x' },
        { id: '3', name: 'x' },
      ]),
    ).toEqual(
      new Map([
        ['1', 'x'],
        ['2', 'x (2)'],
        ['3', 'x (3)'],
      ]),
    )
  })

  it('A into B concurrent with B into A: no cycle, the same tree everywhere', () => {
    const a = replica('alice')
    const b = replica('bob')
    const A = a.at(1000).create(ROOT, 'A', 'folder').id
    const B = a.at(1001).create(ROOT, 'B', 'folder').id
    const inA = a.at(1002).create(A, 'x', 'file').id
    syncAll(a.tree, b.tree)
    a.at(2000).move(A, B, 'A')
    b.at(2001).move(B, A, 'B') // later: skipped, as it would make B its own ancestor
    syncAll(a.tree, b.tree)
    for (const t of [a.tree, b.tree]) {
      checkNoCycles(t, [A, B, inA])
      expect(paths(t)).toEqual(['B', 'B/A', 'B/A/x'])
    }
  })

  it('out-of-order delivery: parked until the gap fills, then the same tree', () => {
    const a = replica('alice')
    const c = replica('carol')
    const ops: TreeOp[] = []
    const d = a.at(1000).create(ROOT, 'd', 'folder')
    const f = a.at(1001).create(d.id, 'f', 'file')
    ops.push(
      d.op,
      f.op,
      a.at(1002).rename(f.id, 'g'),
      a.at(1003).move(f.id, ROOT, 'h'),
      a.at(1004).remove(d.id),
    )
    const b = new FileTree('bob')
    for (const op of [...ops].reverse()) send(b, [op])
    expect(b.pendingCount()).toBe(0)
    expect(b.list()).toEqual(a.tree.list())
    // Ops of another replica stamped between alice's, arriving after them: undone, done, redone.
    const e = new FileTree('eve')
    send(e, ops)
    const x = c.at(1001).create(ROOT, 'h', 'file') // earlier than alice's move to "h": keeps the name
    send(e, [x.op])
    send(a.tree, [x.op])
    expect(e.list()).toEqual(a.tree.list())
    expect(e.path(x.op.node)).toBe('h')
    expect(e.path(f.id)).toBe('h (2)')
    expect(e.version()).toEqual({ alice: 5, carol: 1 })
    expect(e.opsSince({ alice: 3 }).map((o) => `${o.replica}:${o.counter}`)).toEqual([
      'carol:1',
      'alice:4',
      'alice:5',
    ])
  })

  it("skips a peer's op placing a node under a file or a node it does not hold, the same everywhere", () => {
    const { a, b, file } = shared()
    const op = (counter: number, parent: string, wall: number): TreeOp => ({
      replica: 'mallory',
      counter,
      stamp: { wall, logical: 0 },
      node: `mallory:${counter}`,
      parent,
      name: 'x',
      kind: 'file',
    })
    const ops = [op(1, file, 5000), op(2, 'nowhere', 5001), op(3, 'mallory:1', 5002)]
    send(a.tree, ops)
    send(b.tree, [...ops].reverse())
    expect(paths(a.tree)).toEqual(['a.md', 'docs'])
    expect(b.tree.list()).toEqual(a.tree.list())
    expect(a.tree.version()).toEqual({ alice: 2, mallory: 3 }) // skipped ops are still applied ops
  })

  it('reports the nodes whose place changed, undo-redo included', () => {
    const { a, b, docs, file } = shared()
    const later = b.at(3000).rename(file, 'later.md')
    const earlier = a.at(2000).move(file, docs, 'earlier.md')
    expect(b.tree.apply([earlier])).toEqual([
      { id: file, before: { parent: ROOT, name: 'later.md' }, after: { parent: docs, name: 'later.md' } },
    ])
    expect(a.tree.apply([later, later])).toEqual([
      { id: file, before: { parent: docs, name: 'earlier.md' }, after: { parent: docs, name: 'later.md' } },
    ])
    expect(a.tree.apply([later])).toEqual([])
  })

  it('refuses ops stamped beyond the drift window', () => {
    const { tree } = replica('r', 10 * 3600_000)
    const op = tree.create(ROOT, 'x', 'file').op
    expect(() => checkStampWindow([op], 0)).toThrow(CrdtDecodeError)
    expect(() => checkStampWindow([op], 10 * 3600_000)).not.toThrow()
  })

  it('refuses malformed ops, applying nothing of their batch', () => {
    const { tree } = replica('r')
    const ok = tree.create(ROOT, 'ok', 'file').op
    const t = new FileTree('t')
    const bad = (o: Partial<TreeOp>): TreeOp => ({ ...ok, ...o })
    for (const op of [
      bad({ name: '..' }),
      bad({ name: 'a/b' }),
      bad({ node: ROOT }),
      bad({ node: TRASH }),
      bad({ parent: ok.node }),
      bad({ counter: 0 }),
      bad({ stamp: { wall: -1, logical: 0 } }),
    ]) {
      expect(() => t.apply([ok, op])).toThrow(CrdtDecodeError)
      expect(() => encodeOps([op])).toThrow(RangeError)
    }
    expect(t.list()).toEqual([])
  })
})

describe('FileTree bounds (hostile peers)', () => {
  it('holds at most maxNodes nodes: a create past it is skipped alike everywhere, and refused locally', () => {
    const a = new FileTree('a', { maxNodes: 5 })
    const b = new FileTree('b', { maxNodes: 5 })
    const fresh = new FileTree('c', { maxNodes: 5 })
    const made: TreeOp[] = []
    for (let i = 0; i < 3; i++) made.push(a.create(ROOT, `a${i}`, 'file').op)
    for (let i = 0; i < 3; i++) made.push(b.create(ROOT, `b${i}`, 'file').op)
    syncAll(a, b)
    expect(a.list()).toHaveLength(5)
    expect(b.list()).toEqual(a.list())
    send(fresh, [...made].reverse()) // another order, the same skip
    expect(fresh.list()).toEqual(a.list())
    expect(() => a.create(ROOT, 'one more', 'file')).toThrow(RangeError)
    // A node deleted still counts (the trash keeps it), and a move of a held node is never refused.
    const first = a.list()[0]!.id
    send(b, [a.remove(first)])
    expect(() => a.create(ROOT, 'x', 'file')).toThrow(RangeError)
    send(b, [a.move(first, ROOT)])
    expect(b.list()).toEqual(a.list())
  })

  it('lists a deeply nested tree up to a path length, without recursion', () => {
    const t = new FileTree('deep')
    let parent = ROOT
    for (let i = 0; i < 4000; i++) parent = t.create(parent, 'd', 'folder').id
    const listed = t.list(4096)
    expect(listed).toHaveLength(2048) // "d", "d/d", … up to 4,095 characters
    expect(listed.at(-1)!.path.length).toBe(4095)
  })
})
