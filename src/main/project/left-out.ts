/**
 * The files in a shared folder that the project leaves out (binary, over the size limit, a link, a
 * special file, a name the tree refuses, unreadable: scan-folder.ts), kept up to date from the
 * folder's scans and the watcher's deltas, so that the window can list them rather than only the log.
 */
import type { FolderDelta } from '../folder/folder-watcher'
import type { FolderScan, LeftOutFile } from '../folder/scan-folder'

export class LeftOutFiles {
  private readonly byPath = new Map<string, LeftOutFile>()
  private last = ''

  /** The whole folder as scanned; true if the list changed. */
  replace(scan: FolderScan): boolean {
    this.byPath.clear()
    for (const f of scan.leftOut) this.byPath.set(f.path, f)
    return this.changed()
  }

  /**
   * What the watcher read; true if the list changed. What it names (gone, or there now) and what is
   * under a folder it read whole is as the delta says: a file left out may have been deleted, or
   * become shareable (made smaller, say).
   */
  apply(delta: FolderDelta): boolean {
    const read = [...delta.gone, ...delta.now.files.map((f) => f.path), ...delta.now.folders]
    for (const path of this.byPath.keys()) {
      if (read.some((r) => path === r || path.startsWith(`${r}/`))) this.byPath.delete(path)
    }
    for (const f of delta.now.leftOut) this.byPath.set(f.path, f)
    return this.changed()
  }

  /** Sorted by path. */
  list(): LeftOutFile[] {
    return [...this.byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }

  private changed(): boolean {
    const now = JSON.stringify(this.list())
    if (now === this.last) return false
    this.last = now
    return true
  }
}
