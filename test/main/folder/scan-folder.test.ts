/**
 * scanFolder on real folders on disk: what a shared folder shares, what it leaves out and why, and
 * what it never touches (ignored folders are not entered, links are not followed).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MAX_SHARED_BYTES } from '../../../src/main/folder/folder-rules'
import { FolderError, loadRules, scanFolder, scanPaths } from '../../../src/main/folder/scan-folder'
import { StorageError } from '../../../src/main/storage/errors'
import { nodeFs, type StorageFs } from '../../../src/main/storage/fs-layer'
import { hashBytes } from '../../../src/main/storage/text-file'

let root: string
let outside: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshpad-scan-'))
  outside = mkdtempSync(join(tmpdir(), 'meshpad-outside-'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
  rmSync(outside, { recursive: true, force: true })
})

/** Writes files under `root`: path → content. */
function put(files: Record<string, string | Uint8Array>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path)
    mkdirSync(join(full, '..'), { recursive: true })
    writeFileSync(full, content)
  }
}

describe('scanFolder', () => {
  it('lists folders and text files with their text, by name, folders before their contents', async () => {
    put({
      'README.md': '# Project\n',
      'src/main.ts': 'export const a = 1\n',
      'src/util/strings.ts': 'export {}\n',
      'docs/notes.txt': 'windows\r\nline endings\r\n',
      'docs/bom.txt': '\uFEFFwith a mark',
    })
    mkdirSync(join(root, 'empty'))
    const scan = await scanFolder(root)
    expect(scan.folders).toEqual(['docs', 'empty', 'src', 'src/util'])
    expect(scan.files.map((f) => f.path)).toEqual([
      'README.md',
      'docs/bom.txt',
      'docs/notes.txt',
      'src/main.ts',
      'src/util/strings.ts',
    ])
    const byPath = new Map(scan.files.map((f) => [f.path, f]))
    expect(byPath.get('src/main.ts')!.text).toBe('export const a = 1\n')
    expect(byPath.get('docs/notes.txt')).toMatchObject({
      text: 'windows\nline endings\n',
      format: { eol: 'crlf' },
    })
    expect(byPath.get('docs/bom.txt')).toMatchObject({
      text: 'with a mark',
      format: { encoding: 'utf8-bom' },
    })
    expect(byPath.get('README.md')!.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(scan.leftOut).toEqual([])
  })

  it('reads several entries of a folder at once, and lists them by name all the same', async () => {
    const names = Array.from({ length: 24 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`)
    put(Object.fromEntries(names.map((n) => [`src/${n}`, `${n}\n`])))
    let reading = 0
    let most = 0
    const fs: StorageFs = {
      ...nodeFs,
      readFile: async (path, room) => {
        most = Math.max(most, ++reading)
        // The first names take longest: read one at a time, or listed as they finish, they come out of order.
        const n = Number(/f(\d+)\.txt$/.exec(path)?.[1] ?? 0)
        await new Promise((r) => setTimeout(r, 24 - n))
        reading--
        return nodeFs.readFile(path, room)
      },
    }
    const scan = await scanFolder(root, fs)
    expect(most).toBeGreaterThan(1)
    expect(scan.files.map((f) => f.path)).toEqual(names.map((n) => `src/${n}`))
    expect(scan.files.map((f) => f.text)).toEqual(names.map((n) => `${n}\n`))
  })

  it('follows .gitignore rules, and always leaves out .git/ and node_modules/ without entering them', async () => {
    put({
      '.gitignore': '\uFEFF*.log\nbuild/\n!keep.log\n!node_modules/\n/secret.txt\n', // with a BOM
      'app.ts': 'x',
      'debug.log': 'noise',
      'keep.log': 'wanted',
      'build/out.js': 'generated',
      'secret.txt': 'top-level only',
      'sub/secret.txt': 'not top-level: shared',
      '.git/HEAD': 'ref: refs/heads/main\n',
      'node_modules/pkg/index.js': 'module.exports = 1',
      'pkg/node_modules/dep.js': 'nested ones too',
    })
    const entered: string[] = []
    const watching: StorageFs = {
      ...nodeFs,
      readdir: async (path) => {
        entered.push(path)
        return nodeFs.readdir(path)
      },
    }
    const scan = await scanFolder(root, watching)
    expect(scan.files.map((f) => f.path)).toEqual(['.gitignore', 'app.ts', 'keep.log', 'sub/secret.txt'])
    expect(scan.folders).toEqual(['pkg', 'sub'])
    expect(scan.ignored).toBe(6) // debug.log, build/, secret.txt, .git/, node_modules/, pkg/node_modules/
    expect(entered.filter((p) => /node_modules|\.git|build/.test(p))).toEqual([])
  })

  it('leaves out binary files, files over the size limit and symlinks, saying why, and follows no link', async () => {
    put({
      'image.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
      'big.txt': 'a'.repeat(MAX_SHARED_BYTES + 1),
      'ok.txt': 'a'.repeat(1000),
    })
    writeFileSync(join(outside, 'private.txt'), 'outside the shared folder')
    symlinkSync(join(outside, 'private.txt'), join(root, 'link-to-file'))
    symlinkSync(outside, join(root, 'link-to-folder'))
    const scan = await scanFolder(root)
    expect(scan.files.map((f) => f.path)).toEqual(['ok.txt'])
    expect(scan.leftOut).toEqual([
      { path: 'big.txt', why: 'too-large' },
      { path: 'image.png', why: 'binary' },
      { path: 'link-to-file', why: 'symlink' },
      { path: 'link-to-folder', why: 'symlink' },
    ])
    expect(JSON.stringify(scan)).not.toContain('outside the shared folder')
  })

  it('lists a subfolder it cannot read as left out, and goes on with the rest', async () => {
    put({ 'a/one.txt': '1', 'b/two.txt': '2' })
    const failing: StorageFs = {
      ...nodeFs,
      readdir: async (path) => {
        if (path === join(root, 'a')) {
          throw Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' })
        }
        return nodeFs.readdir(path)
      },
    }
    const scan = await scanFolder(root, failing)
    expect(scan.files.map((f) => f.path)).toEqual(['b/two.txt'])
    expect(scan.leftOut).toEqual([{ path: 'a', why: 'unreadable', detail: 'EACCES' }])
  })

  it('does not decode a file that still has the bytes Meshpad wrote there, and decodes any other', async () => {
    const ours = Buffer.from('written by Meshpad\r\n')
    put({
      'ours.md': ours,
      'theirs.md': 'changed by an editor\n',
      'now-binary.md': new Uint8Array([0, 159, 146, 150]),
    })
    // What Meshpad wrote at each path: ours.md still holds it; the other two were changed since.
    const wrote = new Map([
      ['ours.md', hashBytes(ours)],
      ['theirs.md', hashBytes(Buffer.from('as Meshpad wrote it\n'))],
      ['now-binary.md', hashBytes(Buffer.from('text once\n'))],
    ])
    const scan = await scanPaths(root, [''], await loadRules(root), nodeFs, { written: (p) => wrote.get(p) })
    const file = (path: string) => scan.files.find((f) => f.path === path)!
    const decodedLater = (path: string): boolean =>
      Object.getOwnPropertyDescriptor(file(path), 'text')?.get !== undefined
    expect(file('ours.md').hash).toBe(wrote.get('ours.md'))
    expect(decodedLater('ours.md')).toBe(true)
    expect(file('ours.md').text).toBe('written by Meshpad\n')
    expect(file('ours.md').format).toEqual(expect.objectContaining({ eol: 'crlf' }))
    expect(decodedLater('theirs.md')).toBe(false)
    expect(file('theirs.md').text).toBe('changed by an editor\n')
    // Changed since it was written: read as any file, and left out as what it is now.
    expect(scan.leftOut).toEqual([{ path: 'now-binary.md', why: 'binary' }])
  })

  it('refuses a file, or a missing path, with an error that says so', async () => {
    put({ 'file.txt': 'x' })
    await expect(scanFolder(join(root, 'file.txt'))).rejects.toMatchObject({
      constructor: FolderError,
      code: 'NOT_A_FOLDER',
    })
    const missing = scanFolder(join(root, 'nowhere'))
    await expect(missing).rejects.toBeInstanceOf(StorageError)
    await expect(missing).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
