/**
 * FolderWatcher on a real folder with the OS's own change events: what other programs do to a shared
 * folder reaches the caller, debounced, with ignored folders neither watched nor reported.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FolderWatcher, type FolderDelta } from '../../../src/main/folder/folder-watcher'
import { nodeFs, type StorageFs } from '../../../src/main/storage/fs-layer'

let root: string
let watcher: FolderWatcher | undefined
let deltas: FolderDelta[]
const errors: Error[] = []

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshpad-watch-'))
  deltas = []
})
afterEach(() => {
  watcher?.close()
  watcher = undefined
  rmSync(root, { recursive: true, force: true })
  expect(errors.splice(0)).toEqual([])
})

function put(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
}

async function start(): Promise<FolderWatcher> {
  watcher = await FolderWatcher.start(root, {
    debounceMs: 50,
    onDelta: (d) => deltas.push(d),
    onError: (e) => errors.push(e),
  })
  return watcher
}

/** Everything reported so far, folded: the last word on each path. */
function seen(): { files: Map<string, string>; folders: Set<string>; gone: Set<string> } {
  const files = new Map<string, string>()
  const folders = new Set<string>()
  const gone = new Set<string>()
  for (const d of deltas) {
    for (const p of d.gone) {
      gone.add(p)
      files.delete(p)
      folders.delete(p)
    }
    for (const f of d.now.files) {
      files.set(f.path, f.text)
      gone.delete(f.path)
    }
    for (const f of d.now.folders) {
      folders.add(f)
      gone.delete(f)
    }
  }
  return { files, folders, gone }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(deltas)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('FolderWatcher', () => {
  it('starts by walking the folders alone: no file is read (a project of 2,000 files read them twice)', async () => {
    put({ 'a.txt': 'a\n', 'src/b.ts': 'b\n', 'src/deep/c.ts': 'c\n', '.gitignore': 'dist/\n' })
    const read: string[] = []
    const fs: StorageFs = {
      ...nodeFs,
      readFile: (path, room) => {
        read.push(path)
        return nodeFs.readFile(path, room)
      },
    }
    watcher = await FolderWatcher.start(root, {
      fs,
      debounceMs: 50,
      onDelta: (d) => deltas.push(d),
      onError: (e) => errors.push(e),
    })
    expect(watcher.watched).toEqual(['', 'src', 'src/deep'])
    expect(read).toEqual([join(root, '.gitignore')]) // the rules, and nothing else
    writeFileSync(join(root, 'src/deep/c.ts'), 'changed\n')
    await until(() => seen().files.get('src/deep/c.ts') === 'changed\n', 'the change in a folder it walked')
  })

  it('reports a file another program edits, creates or deletes, with its text', async () => {
    put({ 'a.txt': 'one', 'src/b.ts': 'two' })
    await start()
    writeFileSync(join(root, 'src/b.ts'), 'two, edited')
    writeFileSync(join(root, 'c.md'), 'new')
    unlinkSync(join(root, 'a.txt'))
    await until(
      () => seen().gone.has('a.txt') && seen().files.get('src/b.ts') === 'two, edited',
      'the changes',
    )
    expect(seen().files.get('c.md')).toBe('new')
  })

  it('follows new folders and renamed ones: files written in them later are reported too', async () => {
    put({ 'lib/x.ts': 'x' })
    await start()
    mkdirSync(join(root, 'new/deep'), { recursive: true })
    writeFileSync(join(root, 'new/deep/y.ts'), 'y')
    await until(() => seen().files.get('new/deep/y.ts') === 'y', 'the new folder')
    writeFileSync(join(root, 'new/deep/z.ts'), 'z')
    await until(() => seen().files.get('new/deep/z.ts') === 'z', 'a file in the new folder')

    renameSync(join(root, 'lib'), join(root, 'lib2'))
    await until(() => seen().gone.has('lib') && seen().files.get('lib2/x.ts') === 'x', 'the renamed folder')
    writeFileSync(join(root, 'lib2/late.ts'), 'late') // Node's recursive watch on Linux misses this one
    await until(() => seen().files.get('lib2/late.ts') === 'late', 'a file in the renamed folder')
    expect(watcher!.watched).toEqual(['', 'lib2', 'new', 'new/deep'])
  })

  it('neither watches nor reports ignored folders, and asks for a rescan when the rules change', async () => {
    put({
      '.gitignore': 'dist/\n',
      'app.ts': 'a',
      'dist/out.js': 'o',
      '.git/HEAD': 'h',
      'node_modules/m/i.js': 'm',
    })
    await start()
    expect(watcher!.watched).toEqual([''])
    writeFileSync(join(root, '.git/HEAD'), 'ref: refs/heads/other')
    writeFileSync(join(root, 'dist/out.js'), 'rebuilt')
    writeFileSync(join(root, 'node_modules/m/i.js'), 'updated')
    await sleep(300)
    expect(deltas).toEqual([])
    writeFileSync(join(root, '.gitignore'), '')
    await until(() => deltas.some((d) => d.rescan), 'a rescan')
    expect(seen().files.get('dist/out.js')).toBe('rebuilt') // no longer ignored
    expect(watcher!.watched).toContain('dist')
  })

  it('gathers a burst (a checkout writing 300 files) into a few reports with every file', async () => {
    await start()
    for (let i = 0; i < 300; i++) put({ [`pkg${i % 10}/file${i}.ts`]: `export const n = ${i}\n` })
    await until(() => seen().files.size === 300, 'all 300 files')
    expect(deltas.length).toBeLessThan(30)
  })
})
