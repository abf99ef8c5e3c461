/**
 * Two members' folders kept in step through replicated file trees, the disk side of issue 15 end to
 * end in one process: real folders, the OS's change events, a real `git checkout` of another branch in
 * one folder. Tree ops go from one FileTree to the other as they would over the wire; file texts are
 * handed over whole (their sync is the text CRDT's, tested elsewhere).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FolderMirror, type FileTexts } from '../../../src/main/folder/folder-mirror'
import { FolderWatcher, type FolderDelta } from '../../../src/main/folder/folder-watcher'
import { loadRules, scanFolder, scanPaths } from '../../../src/main/folder/scan-folder'
import { FileTree } from '../../../src/shared/tree/file-tree'
import type { TreeOp } from '../../../src/shared/tree/tree-ops'

interface Side {
  readonly dir: string
  readonly tree: FileTree
  readonly texts: Map<string, string>
  readonly mirror: FolderMirror
  watcher?: FolderWatcher
  readonly deltas: FolderDelta[]
}

let dirs: string[]
beforeEach(() => {
  dirs = []
})
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function side(name: string): Side {
  const dir = mkdtempSync(join(tmpdir(), `meshpad-mirror-${name}-`))
  dirs.push(dir)
  const tree = new FileTree(`${name}-replica`)
  const texts = new Map<string, string>()
  const fileTexts: FileTexts = { get: (id) => texts.get(id), set: (id, text) => void texts.set(id, text) }
  return { dir, tree, texts, mirror: new FolderMirror(dir, tree, fileTexts), deltas: [] }
}

async function watch(s: Side): Promise<void> {
  s.watcher = await FolderWatcher.start(s.dir, {
    debounceMs: 60,
    onDelta: (d) => s.deltas.push(d),
    onError: (e) => {
      throw e
    },
  })
}

/** What a peer receives: the tree ops, and the texts of the files (whole, standing in for text sync). */
async function deliver(from: Side, to: Side, ops: TreeOp[]): Promise<void> {
  to.tree.apply(ops)
  for (const [id, text] of from.texts) to.texts.set(id, text)
  expect(await to.mirror.toDisk()).toEqual([])
}

/** Waits until the watcher has been quiet, and turns everything it saw into ops. */
async function settle(s: Side): Promise<TreeOp[]> {
  let seen = -1
  while (seen !== s.deltas.length) {
    seen = s.deltas.length
    await new Promise((r) => setTimeout(r, 400))
  }
  return s.deltas.splice(0).flatMap((d) => s.mirror.fromDisk(d))
}

/** Every shared file, path → bytes, for comparing two folders. */
async function contents(dir: string): Promise<Record<string, string>> {
  const scan = await scanFolder(dir)
  const out: Record<string, string> = {}
  for (const f of scan.files) out[f.path] = readFileSync(join(dir, f.path), 'utf8')
  for (const f of scan.folders) out[`${f}/`] = ''
  return out
}

function put(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
}

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  })

describe('FolderMirror: two folders kept in step', () => {
  it('shares a folder, then carries edits, creates, renames, moves and deletes made by other programs', async () => {
    const ana = side('ana')
    const ben = side('ben')
    put(ana.dir, {
      'README.md': '# Plan\n',
      'src/main.ts': 'main\n',
      'src/util/str.ts': 'str\n',
      'notes.txt': 'n',
    })
    await deliver(ana, ben, await ana.mirror.importFolder())
    expect(await contents(ben.dir)).toEqual(await contents(ana.dir))

    await watch(ana)
    await watch(ben) // Ben's own writes must not come back as changes
    const mainId = ana.mirror.tree.list().find((e) => e.path === 'src/main.ts')!.id
    writeFileSync(join(ana.dir, 'README.md'), '# Plan, edited in another editor\n')
    renameSync(join(ana.dir, 'src/main.ts'), join(ana.dir, 'src/index.ts')) // a rename keeps the node
    renameSync(join(ana.dir, 'src/util'), join(ana.dir, 'lib'))
    unlinkSync(join(ana.dir, 'notes.txt'))
    put(ana.dir, { 'docs/new.md': 'new\n' })
    await deliver(ana, ben, await settle(ana))
    expect(await contents(ben.dir)).toEqual({
      'README.md': '# Plan, edited in another editor\n',
      'docs/': '',
      'docs/new.md': 'new\n',
      'lib/': '',
      'lib/str.ts': 'str\n',
      'src/': '',
      'src/index.ts': 'main\n',
    })
    expect(await contents(ben.dir)).toEqual(await contents(ana.dir))
    expect(ana.tree.path(mainId)).toBe('src/index.ts')
    expect(ben.tree.path(mainId)).toBe('src/index.ts')
    await new Promise((r) => setTimeout(r, 400))
    expect(ben.deltas.length).toBeGreaterThan(0) // his watcher did see Meshpad's writes...
    expect(await settle(ben)).toEqual([]) // ...and they made no op
    ana.watcher?.close()
    ben.watcher?.close()
  })

  it('moves a renamed folder as one node: what another member made in it meanwhile goes with it', async () => {
    const ana = side('ana')
    const ben = side('ben')
    put(ana.dir, { 'lib/a.ts': 'a\n', 'lib/deep/b.ts': 'b\n' })
    await deliver(ana, ben, await ana.mirror.importFolder())
    await watch(ana)
    await watch(ben)
    const lib = ana.tree.list().find((e) => e.path === 'lib')!.id
    renameSync(join(ana.dir, 'lib'), join(ana.dir, 'library'))
    put(ben.dir, { 'lib/new.ts': 'made by ben meanwhile\n' })
    const [fromAna, fromBen] = [await settle(ana), await settle(ben)]
    expect(fromAna).toHaveLength(1) // one move, not a new folder, new files and deletions
    await deliver(ana, ben, fromAna)
    await deliver(ben, ana, fromBen)
    expect(ana.tree.path(lib)).toBe('library')
    expect(await contents(ana.dir)).toEqual({
      'library/': '',
      'library/a.ts': 'a\n',
      'library/deep/': '',
      'library/deep/b.ts': 'b\n',
      'library/new.ts': 'made by ben meanwhile\n',
    })
    expect(await contents(ben.dir)).toEqual(await contents(ana.dir))
    ana.watcher?.close()
    ben.watcher?.close()
  })

  it('takes a file missing from a folder a report read whole for gone, though the report names the folder', async () => {
    const ana = side('ana')
    put(ana.dir, { 'docs/old.md': 'old\n', 'docs/keep.md': 'keep\n' })
    await ana.mirror.importFolder()
    const old = ana.tree.list().find((e) => e.path === 'docs/old.md')!.id
    unlinkSync(join(ana.dir, 'docs/old.md'))
    writeFileSync(join(ana.dir, 'docs/keep.md'), Buffer.from([0, 1, 2])) // now binary: left out, not gone
    // What a watch on the root reports when the folder, not the file, is named.
    const now = await scanPaths(ana.dir, ['docs'], await loadRules(ana.dir))
    const ops = ana.mirror.fromDisk({ gone: [], now, rescan: false })
    expect(ops.map((op) => op.node)).toEqual([old])
    expect(ana.tree.list().map((e) => e.path)).toEqual(['docs', 'docs/keep.md'])
  })

  it('brings back a file a member deleted while it was changed on disk, with the change', async () => {
    const ana = side('ana')
    const ben = side('ben')
    put(ana.dir, { 'docs/plan.md': 'plan\n' })
    await deliver(ana, ben, await ana.mirror.importFolder())
    const plan = ana.tree.list().find((e) => e.path === 'docs/plan.md')!.id
    const docs = ana.tree.list().find((e) => e.path === 'docs')!.id
    // Ben edits the file in another editor; before his watcher reads it, Ana's deletion of the folder arrives.
    writeFileSync(join(ben.dir, 'docs/plan.md'), 'plan, edited by ben\n')
    ben.tree.apply([ana.tree.remove(docs)])
    expect(await ben.mirror.toDisk()).toEqual([
      { path: 'docs/plan.md', why: 'changed-on-disk' },
      { path: 'docs', why: 'kept-folder' },
    ])
    const now = await scanPaths(ben.dir, ['docs'], await loadRules(ben.dir))
    const ops = ben.mirror.fromDisk({ gone: [], now, rescan: false })
    expect(ben.texts.get(plan)).toBe('plan, edited by ben\n')
    expect(ben.tree.path(plan)).toBe('docs/plan.md')
    ana.tree.apply(ops)
    expect(ana.tree.path(plan)).toBe('docs/plan.md') // back for everyone, in a folder made anew
    expect(ana.tree.path(docs)).toBeUndefined()
  })

  it('carries a git checkout of another branch to the other folder, byte for byte', async () => {
    const ana = side('ana')
    const ben = side('ben')
    put(ana.dir, { 'app.ts': 'v1\n', 'lib/a.ts': 'a\n', 'lib/b.ts': 'b\n', 'docs/guide.md': 'guide\n' })
    git(ana.dir, 'init', '-q', '-b', 'main')
    git(ana.dir, 'add', '-A')
    git(ana.dir, 'commit', '-q', '-m', 'main')
    git(ana.dir, 'checkout', '-q', '-b', 'feature')
    put(ana.dir, { 'app.ts': 'v2 on the feature branch\n', 'lib/c.ts': 'c\n', 'tests/app.test.ts': 't\n' })
    unlinkSync(join(ana.dir, 'lib/b.ts'))
    rmSync(join(ana.dir, 'docs'), { recursive: true })
    git(ana.dir, 'add', '-A')
    git(ana.dir, 'commit', '-q', '-m', 'feature')
    git(ana.dir, 'checkout', '-q', 'main')

    await deliver(ana, ben, await ana.mirror.importFolder())
    expect(await contents(ben.dir)).toEqual(await contents(ana.dir))
    await watch(ana)
    git(ana.dir, 'checkout', '-q', 'feature')
    await deliver(ana, ben, await settle(ana))
    expect(await contents(ana.dir)).toEqual({
      'app.ts': 'v2 on the feature branch\n',
      'lib/': '',
      'lib/a.ts': 'a\n',
      'lib/c.ts': 'c\n',
      'tests/': '',
      'tests/app.test.ts': 't\n',
    })
    const bens = await contents(ben.dir)
    // Ben has no .git: git removed docs/ from Ana's folder; his has it gone too, and the rest matches.
    expect(bens).toEqual(await contents(ana.dir))
    ana.watcher?.close()
  })
})
