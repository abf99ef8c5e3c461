/**
 * Storage errors say what happened and what to do: a folder where a file was expected (EISDIR) is
 * called a folder, never a failing disk (issue 13), and no error but EIO is; the others keep their advice.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StorageError, toStorageError } from '../../../src/main/storage/errors'
import { nodeFs } from '../../../src/main/storage/fs-layer'
import { readFileBytes, writeTextFile } from '../../../src/main/storage/text-file'

const sysError = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: something`), { code })

describe('toStorageError', () => {
  it('calls a folder opened as a file a folder, and asks for a text file', () => {
    const err = toStorageError(sysError('EISDIR'), 'open', '/home/u/notes')
    expect(err).toBeInstanceOf(StorageError)
    expect(err).toMatchObject({ code: 'NOT_A_FILE', path: '/home/u/notes', errno: 'EISDIR' })
    expect(err.message).toBe('/home/u/notes is a folder, not a file: choose a text file.')
  })

  it('asks for a file name when a save meets a folder', () => {
    const err = toStorageError(sysError('EISDIR'), 'save', '/home/u/notes')
    expect(err.code).toBe('NOT_A_FILE')
    expect(err.message).toMatch(/^\/home\/u\/notes is a folder, not a file: choose a file name to save to/)
    expect(err.message).not.toMatch(/input\/output|failing/)
  })

  it('names a folder in the way of one of Meshpad’s own files', () => {
    const err = toStorageError(sysError('EISDIR'), 'write the op log', '/data/d/log')
    expect(err.message).toMatch(/Could not write the op log \/data\/d\/log: it is a folder/)
  })

  it('keeps the advice for a failing disk for real input/output errors', () => {
    expect(toStorageError(sysError('EIO'), 'save', '/f').message).toMatch(/input\/output error/)
    expect(toStorageError(sysError('ENOSPC'), 'save', '/f').code).toBe('DISK_FULL')
  })

  it('calls a name too long a name too long, and no other error a failing disk', () => {
    const long = toStorageError(sysError('ENAMETOOLONG'), 'save', '/f')
    expect(long).toMatchObject({ code: 'BAD_NAME', errno: 'ENAMETOOLONG' })
    expect(long.message).toMatch(/^Could not save \/f: the name is too long for this disk\. Choose a shorter/)
    for (const err of [sysError('EMFILE'), new Error('odd')]) {
      const message = toStorageError(err, 'save', '/f').message
      expect(message).toMatch(/^Could not save \/f: the system refused with an unexpected error/)
      expect(message).not.toMatch(/input\/output|failing/)
    }
  })
})

describe('reading and writing a folder as a text file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-errors-'))

  it('refuses to open a folder with a folder error', async () => {
    await expect(readFileBytes(nodeFs, dir)).rejects.toMatchObject({
      code: 'NOT_A_FILE',
      message: `${dir} is a folder, not a file: choose a text file.`,
    })
  })

  it('refuses to save over a folder with a folder error, and leaves the folder alone', async () => {
    const folder = join(dir, 'folder')
    await nodeFs.mkdir(folder)
    writeFileSync(join(folder, 'inside.txt'), 'kept')
    await expect(writeTextFile(nodeFs, folder, new TextEncoder().encode('x'))).rejects.toMatchObject({
      code: 'NOT_A_FILE',
      message: expect.stringContaining(`${folder} is a folder, not a file`) as unknown,
    })
    expect(readFileSync(join(folder, 'inside.txt'), 'utf8')).toBe('kept')
  })
})
