/**
 * Reading and writing the user's own text files: detected encoding and line endings in, the same out,
 * written atomically (never half old, half new) with the file's permission bits kept. Symlinks are
 * followed, so saving through a link rewrites its target and the link stays a link.
 */
import { createHash } from 'node:crypto'
import { writeFileAtomic } from './atomic-write'
import { StorageError, toStorageError } from './errors'
import { errnoCode, type StorageFs } from './fs-layer'
import { decodeText, type DecodeOptions, type TextFormat } from './text-format'

export interface TextFileContent {
  /** The file's canonical path (symlinks resolved): the key that links it to its document. */
  readonly realPath: string
  readonly text: string
  readonly format: TextFormat
  /** sha256 of the bytes on disk, to recognise our own writes and unchanged files. */
  readonly hash: string
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export async function readTextFile(
  fs: StorageFs,
  path: string,
  options: DecodeOptions = {},
): Promise<TextFileContent> {
  const { realPath, bytes } = await readFileBytes(fs, path)
  const { text, format } = decodeText(bytes, realPath, options)
  return { realPath, text, format, hash: hashBytes(bytes) }
}

/** The file's canonical path and its bytes, undecoded. */
export async function readFileBytes(
  fs: StorageFs,
  path: string,
  room = 0,
): Promise<{ realPath: string; bytes: Uint8Array }> {
  let realPath = path
  try {
    realPath = await fs.realpath(path)
    return { realPath, bytes: await fs.readFile(realPath, room) }
  } catch (err) {
    throw toStorageError(err, 'open', realPath)
  }
}

/**
 * Replaces the file at `path` atomically with `bytes` (see `encodeText`). An existing file keeps its
 * permission bits; a file without any write bit is refused as read-only.
 */
export async function writeTextFile(fs: StorageFs, path: string, bytes: Uint8Array): Promise<void> {
  const { target, mode } = await saveTarget(fs, path)
  await writeFileAtomic(fs, target, bytes, { mode, action: 'save' })
}

/** Where to write and with which permissions: an existing file keeps its mode; a new one gets the umask default. */
async function saveTarget(
  fs: StorageFs,
  path: string,
): Promise<{ target: string; mode: number | undefined }> {
  let target = path
  try {
    target = await fs.realpath(path)
    const mode = (await fs.stat(target)).mode & 0o7777
    // Replacing via rename would succeed on a read-only file (only the folder must be writable), and root
    // may write anyway: honour the permission bits as the user's "do not modify".
    if ((mode & 0o222) === 0) {
      throw new StorageError(
        'READ_ONLY',
        target,
        `Could not save ${target}: the file is read-only. Use Save As to write it somewhere else, or make ` +
          'it writable and save again. Your document is kept in Meshpad; nothing was lost.',
      )
    }
    return { target, mode }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { target, mode: undefined }
    throw toStorageError(err, 'save', target)
  }
}
