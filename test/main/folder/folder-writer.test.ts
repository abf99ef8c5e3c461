/**
 * FolderWriter on real folders: a tree state becomes folders and files, renames stay renames, and
 * nothing the writer does not know (changed on disk, unknown files, ignored files) is ever destroyed.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FolderWriter, type MirrorEntry } from '../../../src/main/folder/folder-writer'
import { scanFolder } from '../../../src/main/folder/scan-folder'
import { nodeFs, type StorageFs } from '../../../src/main/storage/fs-layer'

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshpad-mirror-'))
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

const read = (path: string): string => readFileSync(join(root, path), 'utf8')
const state = (entries: Record<string, MirrorEntry>): Map<string, MirrorEntry> =>
  new Map(Object.entries(entries))
const folder = (path: string): MirrorEntry => ({ kind: 'folder', path })
const file = (path: string, text: string): MirrorEntry => ({ kind: 'file', path, text })
/** Every path under root, files and folders, sorted; temp names included (there must be none). */
const listing = (): string[] =>
  (readdirSync(root, { recursive: true }) as string[]).map((p) => p.split('\\').join('/')).sort()

describe('FolderWriter', () => {
  it('makes folders and writes files, in the format asked', async () => {
    const writer = new FolderWriter(root)
    const problems = await writer.apply(
      state({
        s: folder('src'),
        m: file('src/main.ts', 'export {}\n'),
        n: { kind: 'file', path: 'notes.txt', text: 'a\nb\n', format: { encoding: 'utf8', eol: 'crlf' } },
        e: folder('empty'),
      }),
    )
    expect(problems).toEqual([])
    expect(listing()).toEqual(['empty', 'notes.txt', 'src', 'src/main.ts'])
    expect(read('src/main.ts')).toBe('export {}\n')
    expect(read('notes.txt')).toBe('a\r\nb\r\n')
  })

  it('renames and moves by renaming (an open file keeps its inode), a folder with everything in it', async () => {
    const renames: string[] = []
    const fs: StorageFs = { ...nodeFs, rename: (a, b) => (renames.push(b), nodeFs.rename(a, b)) }
    const writer = new FolderWriter(root, fs)
    const first = state({
      d: folder('lib'),
      a: file('lib/a.ts', 'A'),
      b: file('lib/b.ts', 'B'),
      c: folder('lib/deep'),
      x: file('lib/deep/x.ts', 'X'),
      r: file('readme.md', 'R'),
    })
    await writer.apply(first)
    const inode = statSync(join(root, 'lib/deep/x.ts')).ino
    renames.length = 0
    const problems = await writer.apply(
      state({
        d: folder('src/lib'), // moved into a new folder, with its contents
        s: folder('src'),
        a: file('src/lib/a.ts', 'A'),
        b: file('src/lib/b.ts', 'B'),
        c: folder('src/lib/deep'),
        x: file('src/lib/deep/x.ts', 'X'),
        r: file('README.md', 'R'), // renamed
      }),
    )
    expect(problems).toEqual([])
    expect(listing()).toEqual([
      'README.md',
      'src',
      'src/lib',
      'src/lib/a.ts',
      'src/lib/b.ts',
      'src/lib/deep',
      'src/lib/deep/x.ts',
    ])
    expect(statSync(join(root, 'src/lib/deep/x.ts')).ino).toBe(inode)
    // Two renames each for the folder and the readme (out to a temp name, then into place), none for
    // what the folder carried.
    expect(renames.filter((p) => !p.endsWith('.meshpad-tmp')).sort()).toEqual([
      join(root, 'README.md'),
      join(root, 'src', 'lib'),
    ])
    expect(renames).toHaveLength(4)
  })

  it('writes many files in one folder with its fsyncs shared, and makes the folder once', async () => {
    const src = join(root, 'src')
    let dirSyncs = 0
    let mkdirs = 0
    const fs: StorageFs = {
      ...nodeFs,
      // A directory is opened read-only only to be fsynced (fs-layer.ts syncDir).
      open: (path, flags, mode) => {
        if (path === src && flags === 'r') dirSyncs++
        return nodeFs.open(path, flags, mode)
      },
      mkdir: (path) => {
        if (path === src) mkdirs++
        return nodeFs.mkdir(path)
      },
    }
    const writer = new FolderWriter(root, fs)
    const files = Array.from({ length: 48 }, (_, i) => [`f${i}`, file(`src/f${i}.ts`, `${i}\n`)] as const)
    expect(await writer.apply(new Map([['s', folder('src')], ...files]))).toEqual([])
    expect(listing()).toHaveLength(49)
    expect(read('src/f47.ts')).toBe('47\n')
    // One fsync of the folder per file before; now each rename waits for one that started after it,
    // shared by the renames made meanwhile (6 to 9 of them here).
    expect(dirSyncs).toBeGreaterThan(0)
    expect(dirSyncs).toBeLessThanOrEqual(48 / 2)
    expect(mkdirs).toBeLessThanOrEqual(2) // the folder's own, and its files' (one for all of them)
  })

  it('swaps two names without losing either file', async () => {
    const writer = new FolderWriter(root)
    await writer.apply(state({ a: file('one.txt', 'first'), b: file('two.txt', 'second') }))
    expect(await writer.apply(state({ a: file('two.txt', 'first'), b: file('one.txt', 'second') }))).toEqual(
      [],
    )
    expect([read('one.txt'), read('two.txt')]).toEqual(['second', 'first'])
    expect(listing()).toEqual(['one.txt', 'two.txt'])
  })

  it('rewrites a changed file, but not one another program changed since: that is for a merge first', async () => {
    const writer = new FolderWriter(root)
    await writer.apply(state({ a: file('a.txt', 'v1'), b: file('b.txt', 'v1') }))
    writeFileSync(join(root, 'b.txt'), 'edited in another editor')
    const problems = await writer.apply(state({ a: file('a.txt', 'v2'), b: file('b.txt', 'v2') }))
    expect(read('a.txt')).toBe('v2')
    expect(read('b.txt')).toBe('edited in another editor')
    expect(problems).toEqual([{ path: 'b.txt', why: 'changed-on-disk' }])
  })

  it('removes what the tree removed, keeping changed files and folders that hold files not shared', async () => {
    const writer = new FolderWriter(root)
    await writer.apply(
      state({
        b: folder('build'),
        o: file('build/index.ts', 'src'),
        t: folder('tmp'),
        g: file('tmp/gone.txt', 'bye'),
        c: file('changed.txt', 'v1'),
        k: file('kept.txt', 'stays'),
      }),
    )
    writeFileSync(join(root, 'build/out.js'), 'generated, ignored, never shared')
    writeFileSync(join(root, 'changed.txt'), 'edited since')
    const problems = await writer.apply(state({ k: file('kept.txt', 'stays') }))
    expect(listing()).toEqual(['build', 'build/out.js', 'changed.txt', 'kept.txt'])
    expect(read('changed.txt')).toBe('edited since')
    expect(problems).toEqual([
      { path: 'changed.txt', why: 'changed-on-disk' },
      { path: 'build', why: 'kept-folder' },
    ])
  })

  it('never writes or moves over a file it does not know', async () => {
    mkdirSync(join(root, 'docs'))
    writeFileSync(join(root, 'taken.txt'), 'a file of the user, not shared')
    writeFileSync(join(root, 'docs/also-taken.txt'), 'another')
    const writer = new FolderWriter(root)
    await writer.apply(state({ m: file('mine.txt', 'mine') }))
    const problems = await writer.apply(
      state({ m: file('docs/also-taken.txt', 'mine'), n: file('taken.txt', 'new') }),
    )
    expect(problems).toEqual([
      { path: 'docs/also-taken.txt', why: 'occupied' },
      { path: 'taken.txt', why: 'occupied' },
    ])
    expect(read('taken.txt')).toBe('a file of the user, not shared')
    expect(read('docs/also-taken.txt')).toBe('another')
    expect(read('mine.txt')).toBe('mine') // back where it was
    expect(listing().some((p) => p.includes('meshpad-tmp'))).toBe(false)
  })

  it('does not make again a folder the same apply removed: a file it held, moved onto a taken place, goes beside that place', async () => {
    const writer = new FolderWriter(root)
    await writer.apply(state({ f: folder('old'), x: file('old/x.txt', 'mine') }))
    writeFileSync(join(root, 'taken.txt'), 'a file of the user, not shared')
    const problems = await writer.apply(state({ x: file('taken.txt', 'mine') }))
    expect(problems).toEqual([{ path: 'taken.txt', why: 'occupied' }])
    expect(existsSync(join(root, 'old'))).toBe(false)
    expect(read('taken.txt')).toBe('a file of the user, not shared')
    expect(read('taken (2).txt')).toBe('mine')
    expect(listing()).toEqual(['taken (2).txt', 'taken.txt'])
  })

  it('takes up a scanned folder: unchanged files are not rewritten', async () => {
    writeFileSync(join(root, 'a.txt'), 'same')
    const scan = await scanFolder(root)
    const writes: string[] = []
    const fs: StorageFs = { ...nodeFs, open: (p, f, m) => (writes.push(p), nodeFs.open(p, f, m)) }
    const writer = new FolderWriter(root, fs)
    for (const f of scan.files) writer.adopt(`id:${f.path}`, 'file', f.path, f.hash)
    expect(await writer.apply(state({ 'id:a.txt': file('a.txt', 'same') }))).toEqual([])
    expect(writes).toEqual([])
    expect(existsSync(join(root, 'a.txt'))).toBe(true)
  })
})

describe('FolderWriter with stamps (issue 15: a write costs the files written, not every file)', () => {
  /** A file entry whose text getter counts its reads. */
  const stamped = (path: string, text: string, stamp: string, reads: string[]): MirrorEntry => ({
    kind: 'file',
    path,
    stamp,
    get text() {
      reads.push(path)
      return text
    },
  })

  it('reads no text whose stamp is the one it wrote or found on disk, and writes a changed one', async () => {
    const writer = new FolderWriter(root)
    const reads: string[] = []
    const many = (stampOf: (i: number) => string, textOf: (i: number) => string): Map<string, MirrorEntry> =>
      new Map(
        Array.from({ length: 50 }, (_, i) => [`f${i}`, stamped(`f${i}.txt`, textOf(i), stampOf(i), reads)]),
      )
    expect(
      await writer.apply(
        many(
          () => '1',
          (i) => `text ${i}\n`,
        ),
      ),
    ).toEqual([])
    expect(reads).toHaveLength(50)

    reads.length = 0
    const next = many(
      (i) => (i === 7 ? '2' : '1'),
      (i) => (i === 7 ? 'seven, edited\n' : `text ${i}\n`),
    )
    expect(await writer.apply(next)).toEqual([])
    expect(reads).toEqual(['f7.txt'])
    expect(read('f7.txt')).toBe('seven, edited\n')
    expect(read('f8.txt')).toBe('text 8\n')
  })

  it('a file adopted from a scan is read once, then known by its stamp', async () => {
    writeFileSync(join(root, 'a.md'), '# a\n')
    const writer = new FolderWriter(root)
    const scan = await scanFolder(root)
    writer.adopt('a', 'file', 'a.md', scan.files[0]!.hash)
    const reads: string[] = []
    const entry = state({ a: stamped('a.md', '# a\n', '5', reads) })
    await writer.apply(entry)
    await writer.apply(entry)
    expect(reads).toEqual(['a.md'])
    // A change read from disk (adopted again, with its new hash) makes the stamp unknown again.
    writeFileSync(join(root, 'a.md'), '# a, changed\n')
    writer.adopt('a', 'file', 'a.md', (await scanFolder(root)).files[0]!.hash)
    expect(await writer.apply(state({ a: stamped('a.md', '# a, merged\n', '5', reads) }))).toEqual([])
    expect(reads).toEqual(['a.md', 'a.md'])
    expect(read('a.md')).toBe('# a, merged\n')
  })
})
