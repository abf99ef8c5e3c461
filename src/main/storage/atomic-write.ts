/**
 * Replaces a file so that, whatever happens (crash, kill, full disk), it holds either its old content or
 * its new content, never a mix: write a temp file in the same directory, fsync it, rename it over the
 * target (atomic on one filesystem), then fsync the directory so the rename itself survives a power cut.
 */
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { toStorageError } from './errors'
import { syncDir, writeAll, type StorageFs, type StorageFile } from './fs-layer'

const TEMP_SUFFIX = '.meshpad-tmp'
const TEMP_NAME = /^\.(.+)\.[0-9a-f]{8}\.meshpad-tmp$/

export interface AtomicWriteOptions {
  /** Permission bits for the new file; applied with chmod so the umask cannot narrow them. */
  readonly mode?: number
  /** Completes "Could not … <path>" in an error message. */
  readonly action?: string
}

export async function writeFileAtomic(
  fs: StorageFs,
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const action = options.action ?? 'write'
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`)
  let file: StorageFile | undefined
  try {
    file = await fs.open(temp, 'wx', options.mode ?? 0o666)
    await writeAll(file, data)
    if (options.mode !== undefined) await file.chmod(options.mode)
    await file.sync()
    await file.close()
    file = undefined
    await fs.rename(temp, path)
  } catch (err) {
    if (file) await file.close().catch(() => undefined)
    // The target is untouched; the partial temp file is only clutter, so failing to remove it is ignored.
    await fs.unlink(temp).catch(() => undefined)
    throw toStorageError(err, action, path)
  }
  try {
    await syncDir(fs, dir)
  } catch (err) {
    throw toStorageError(err, action, path)
  }
}

/** Deletes temp files that a crash between write and rename left beside `path` (or beside every file in `dir`). */
export async function removeStaleTemps(fs: StorageFs, dir: string, forFile?: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [])
  const isTemp = (name: string): boolean => {
    const m = TEMP_NAME.exec(name)
    return m !== null && (forFile === undefined || m[1] === forFile)
  }
  await Promise.all(names.filter(isTemp).map((n) => fs.unlink(join(dir, n)).catch(() => undefined)))
}
