import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/main/storage/errors'
import { readTextFile, writeTextFile } from '../../../src/main/storage/text-file'
import { FaultyFs, type FaultOp } from './faulty-fs'
import { nodeFs } from '../../../src/main/storage/fs-layer'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-textfile-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('saving a text file', () => {
  it('keeps the permission bits of the file it replaces', async () => {
    for (const mode of [0o640, 0o755, 0o600]) {
      const file = join(dir, `mode-${mode.toString(8)}.txt`)
      await writeFile(file, 'old')
      await chmod(file, mode)
      await writeTextFile(nodeFs, file, utf8('new'))
      expect((await stat(file)).mode & 0o7777).toBe(mode)
      expect(await readFile(file, 'utf8')).toBe('new')
    }
  })

  it('writes through a symlink to its target and leaves the link a link', async () => {
    const target = join(dir, 'target.txt')
    const link = join(dir, 'link.txt')
    await writeFile(target, 'old')
    await symlink(target, link)
    await writeTextFile(nodeFs, link, utf8('new'))
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readFile(target, 'utf8')).toBe('new')
    expect((await readTextFile(nodeFs, link)).realPath).toBe(target)
  })

  it('refuses a read-only file with a typed error and leaves it alone', async () => {
    const file = join(dir, 'locked.txt')
    await writeFile(file, 'old')
    await chmod(file, 0o444)
    const error = await writeTextFile(nodeFs, file, utf8('new')).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'StorageError', code: 'READ_ONLY', path: file })
    expect((error as Error).message).toMatch(/read-only.*Save As/)
    expect(await readFile(file, 'utf8')).toBe('old')
  })

  const faults: [FaultOp, string, string][] = [
    ['open', 'EACCES', 'PERMISSION_DENIED'],
    ['open', 'EROFS', 'READ_ONLY'],
    ['write', 'ENOSPC', 'DISK_FULL'],
    ['write', 'EIO', 'IO'],
    ['sync', 'EIO', 'IO'],
    ['rename', 'EACCES', 'PERMISSION_DENIED'],
    ['rename', 'ENOSPC', 'DISK_FULL'],
    ['rename', 'EPERM', 'PERMISSION_DENIED'],
  ]
  it.each(faults)(
    'on %s failing with %s: a %s error, the old content intact, no temp file left',
    async (op, errno, code) => {
      const file = join(dir, 'doc.txt')
      await writeFile(file, 'old content')
      const fs = new FaultyFs().inject({ op, nth: 1, code: errno, partial: true })
      const error = await writeTextFile(fs, file, utf8('new content, longer than the old one')).catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ code, path: file, errno })
      expect((error as Error).message).toContain(file)
      expect(await readFile(file, 'utf8')).toBe('old content')
      expect(await readdir(dir)).toEqual(['doc.txt'])
    },
  )

  it('reports a file deleted while open as NOT_FOUND, and a folder deleted before a save too', async () => {
    const gone = join(dir, 'gone.txt')
    await expect(readTextFile(nodeFs, gone)).rejects.toMatchObject({ code: 'NOT_FOUND', path: gone })
    const sub = join(dir, 'sub')
    await expect(writeTextFile(nodeFs, join(sub, 'x.txt'), utf8('x'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/no longer exists.*Save As/),
    })
  })

  it('creates a missing file with the default permissions', async () => {
    const file = join(dir, 'fresh.txt')
    await writeTextFile(nodeFs, file, utf8('hi'))
    expect(await readFile(file, 'utf8')).toBe('hi')
    expect((await stat(file)).mode & 0o7777).toBe(0o666 & ~process.umask())
  })
})

describe('reading a file with room before its bytes', () => {
  it('leaves that many bytes free before them in their buffer, and reads the whole file', async () => {
    const path = join(dir, 'big.txt')
    const text = 'a line of a file read with room before it\n'.repeat(30_000) // past any read's chunk
    await writeFile(path, text)
    const bytes = await nodeFs.readFile(path, 256)
    expect(bytes.byteOffset).toBe(256)
    expect(bytes.buffer.byteLength).toBe(256 + bytes.length)
    expect(Buffer.from(bytes).toString('utf8')).toBe(text)
  })

  it('reads an empty file, and one the kernel gives no size for, as plainly', async () => {
    const empty = join(dir, 'empty.txt')
    await writeFile(empty, '')
    expect((await nodeFs.readFile(empty, 64)).length).toBe(0)
    const made = await nodeFs.readFile('/proc/self/status', 64) // size 0 in stat, text when read
    expect(made.byteOffset).toBe(64)
    expect(Buffer.from(made).toString('utf8')).toContain('Name:')
  })
})
