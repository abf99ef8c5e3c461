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

/** Whether `name` is a temp file's name (`removeStaleTemps` removes those a crash left). */
export const isTempName = (name: string): boolean => TEMP_NAME.test(name)

export interface AtomicWriteOptions {
  /** Permission bits for the new file; applied with chmod so the umask cannot narrow them. */
  readonly mode?: number
  /** Completes "Could not … <path>" in an error message. */
  readonly action?: string
  /**
   * Makes the rename durable: an fsync of the directory that starts after the rename (default: one
   * of its own). A writer of many files in one folder passes a shared one (DirSyncs).
   */
  readonly syncDir?: (dir: string) => Promise<void>
}

/** Writes `data` (or its parts, one after another) to `path` through a fsynced temp file and a rename. */
export async function writeFileAtomic(
  fs: StorageFs,
  path: string,
  data: Uint8Array | readonly Uint8Array[],
  options: AtomicWriteOptions = {},
): Promise<void> {
  const action = options.action ?? 'write'
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`)
  let file: StorageFile | undefined
  let created = false
  try {
    file = await fs.open(temp, 'wx', options.mode ?? 0o666)
    created = true
    for (const part of data instanceof Uint8Array ? [data] : data) await writeAll(file, part)
    if (options.mode !== undefined) await file.chmod(options.mode)
    await file.sync()
    await file.close()
    file = undefined
    await fs.rename(temp, path)
  } catch (err) {
    if (file) await file.close().catch(() => undefined)
    // The target is untouched; the partial temp file is only clutter, so failing to remove it is ignored
    // (the next open of the file removes it: removeStaleTemps). A temp that 'wx' found already there is
    // not ours, so it is left alone.
    if (created) await fs.unlink(temp).catch(() => undefined)
    throw toStorageError(err, action, path)
  }
  try {
    await (options.syncDir ? options.syncDir(dir) : syncDir(fs, dir))
  } catch (err) {
    throw toStorageError(err, action, path)
  }
}

/**
 * Deletes temp files that a crash between write and rename left in `dir`: those of the file named
 * `forFile` (`.<forFile>.<8 hex>.meshpad-tmp`), or of every file when it is undefined. With
 * `olderThan` (ms since the epoch; callers pass this process's start) only temps last modified before
 * it go: a younger one may belong to another process that is writing it right now. Best effort: what
 * cannot be listed, stat'ed or removed is left for next time. Resolves with the names removed.
 */
export async function removeStaleTemps(
  fs: StorageFs,
  dir: string,
  forFile?: string,
  olderThan?: number,
): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [])
  const isTemp = (name: string): boolean => {
    const m = TEMP_NAME.exec(name)
    return m !== null && (forFile === undefined || m[1] === forFile)
  }
  const removed = await Promise.all(
    names.filter(isTemp).map(async (name) => {
      const path = join(dir, name)
      try {
        if (olderThan !== undefined) {
          const stat = await fs.stat(path)
          if (!stat.isFile() || stat.mtimeMs >= olderThan) return null
        }
        await fs.unlink(path)
        return name
      } catch {
        return null
      }
    }),
  )
  return removed.filter((n): n is string => n !== null)
}
