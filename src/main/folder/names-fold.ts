/**
 * Whether a folder's file system takes names that differ only in case for one (macOS's and Windows'
 * do, by default): found by making a file there and asking for it by its name in capitals. Such a
 * file system also takes names that differ only in Unicode normalisation for one (APFS, HFS+, NTFS
 * through Windows' APIs), so both are folded together (FileTree.foldNames).
 */
import { randomBytes } from 'node:crypto'
import { lstat, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The probe's name: letters, so its capitals differ; and the suffix scans leave out, so that the
 * folder's watcher takes no notice of it (nor of one left by a crash).
 */
const probeName = (): string => `.case-probe-${randomBytes(4).toString('hex')}.meshpad-tmp`

/** True if `dir` folds the case of names; false if not, or if it cannot be told (nothing written). */
export async function namesFoldIn(dir: string): Promise<boolean> {
  const name = probeName()
  const path = join(dir, name)
  try {
    await (await open(path, 'wx')).close()
  } catch {
    return false // a read-only folder: nothing will be written there either
  }
  try {
    return await lstat(join(dir, name.toUpperCase())).then(
      () => true,
      () => false,
    )
  } finally {
    await unlink(path).catch(() => undefined)
  }
}
