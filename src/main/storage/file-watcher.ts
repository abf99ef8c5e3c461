/**
 * Notices when another program changes a file. It watches the file's folder, not the file: editors and
 * formatters often replace a file by renaming a new one over it, which a watch on the old inode would
 * miss. Events for the file's name are debounced (a save is often several events) into one `onChange`;
 * what changed, if anything, is for the caller to find out by reading the file.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { toStorageError, type StorageError } from './errors'

export interface FileWatcherOptions {
  readonly debounceMs?: number
  readonly onChange: () => void
  readonly onError: (error: StorageError) => void
}

export class FileWatcher {
  readonly path: string
  private watcher: FSWatcher | null
  private timer: NodeJS.Timeout | null = null
  private readonly options: FileWatcherOptions

  /** Throws a StorageError if the folder cannot be watched (it does not exist, no permission…). */
  constructor(path: string, options: FileWatcherOptions) {
    this.path = path
    this.options = options
    const name = basename(path)
    try {
      this.watcher = watch(dirname(path), (_event, filename) => {
        // Some platforms omit the name; then any event in the folder may be ours.
        if (filename === null || filename === name) this.poke()
      })
    } catch (err) {
      throw toStorageError(err, 'watch', path)
    }
    this.watcher.on('error', (err) => {
      this.close()
      this.options.onError(toStorageError(err, 'watch', path))
    })
  }

  get closed(): boolean {
    return this.watcher === null
  }

  /** Stops watching and cancels a pending notification. Idempotent. */
  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.watcher?.close()
    this.watcher = null
  }

  private poke(): void {
    if (!this.watcher) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.options.onChange()
    }, this.options.debounceMs ?? 150)
  }
}
