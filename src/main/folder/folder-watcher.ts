/**
 * Notices what other programs change in a shared folder: an editor's save, a formatter, a file copied
 * in, a `git checkout` of another branch. Each shared folder is watched (inotify on Linux, FSEvents on
 * macOS, ReadDirectoryChangesW on Windows: no polling, so an idle folder costs nothing), and ignored
 * ones are not: Node's recursive watch would also watch every folder of `node_modules/`, and on Linux
 * loses a folder once it is renamed. The paths the watches name are gathered until the folder has been
 * quiet for `debounceMs` (at most `maxWaitMs` while changes go on, as during a checkout), then read
 * once: `onDelta` gets what is at each touched path now, and which paths are gone. Whether that is a
 * change, or Meshpad's own write coming back, is for the caller to tell by the files' hashes
 * (folder-writer.ts keeps them).
 *
 * A folder that appears (made, copied or moved in) is watched with everything under it as it is read;
 * a folder that goes stops being watched. A change to any `.gitignore` reloads the rules and asks the
 * caller for a full rescan, as does an event without a name (some platforms send those).
 */
import { watch, type FSWatcher } from 'node:fs'
import { join, sep } from 'node:path'
import { toStorageError, type StorageError } from '../storage/errors'
import { nodeFs, type StorageFs } from '../storage/fs-layer'
import type { FolderRules } from './folder-rules'
import { loadRules, scanPaths, type FolderScan } from './scan-folder'

export interface FolderDelta {
  /**
   * Touched paths that are not there any more (with whatever was under them). Not every one: a path
   * touched under a folder that is read whole is not named, so what such a folder no longer holds is
   * gone too (FolderMirror.fromDisk takes it so).
   */
  readonly gone: string[]
  /** What is at the touched paths now, and under touched folders. */
  readonly now: FolderScan
  /** The ignore rules changed, or the watch lost track: the caller should rescan the whole folder. */
  readonly rescan: boolean
}

export interface FolderWatcherOptions {
  readonly fs?: StorageFs
  readonly debounceMs?: number
  readonly maxWaitMs?: number
  readonly onDelta: (delta: FolderDelta) => void
  readonly onError: (error: StorageError) => void
  /**
   * Runs each read of the folder (and its `onDelta`) under the caller's lock, so that a read never
   * overlaps the caller's own writes: a report read before a write and handled after it would take
   * the files written meanwhile for gone. Default: as is.
   */
  readonly exclusive?: (read: () => Promise<void>) => Promise<void>
  /** The hash of what Meshpad last wrote or read at a path (ScanOptions.written). */
  readonly written?: (path: string) => string | undefined
}

export class FolderWatcher {
  /** A watch per shared folder ('' is the root), by path. */
  private readonly watches = new Map<string, FSWatcher>()
  private readonly touched = new Set<string>()
  private rescan = false
  private timer: NodeJS.Timeout | null = null
  private firstTouch = 0
  private flushing: Promise<void> = Promise.resolve()
  private closed = false

  private constructor(
    readonly root: string,
    private rules: FolderRules,
    private readonly options: FolderWatcherOptions,
  ) {}

  /** Starts watching; rejects with a StorageError if the folder cannot be watched. */
  static async start(root: string, options: FolderWatcherOptions): Promise<FolderWatcher> {
    const fs = options.fs ?? nodeFs
    const rules = await loadRules(root, fs)
    const watcher = new FolderWatcher(root, rules, options)
    watcher.watchFolder('')
    try {
      const { folders } = await scanPaths(root, [''], rules, fs, { foldersOnly: true })
      for (const folder of folders) watcher.watchFolder(folder)
    } catch (err) {
      watcher.close()
      throw toStorageError(err, 'watch', root)
    }
    return watcher
  }

  /** The folders being watched ('' is the root): for tests and diagnostics. */
  get watched(): string[] {
    return [...this.watches.keys()].sort()
  }

  /** Stops watching and drops what was gathered. Idempotent. */
  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const w of this.watches.values()) w.close()
    this.watches.clear()
  }

  private watchFolder(folder: string): void {
    if (this.closed || this.watches.has(folder)) return
    let w: FSWatcher
    try {
      w = watch(folder === '' ? this.root : join(this.root, ...folder.split('/')), (_event, name) =>
        this.touch(folder, name),
      )
    } catch (err) {
      // Gone already, or unreadable: the next read of its parent tells which.
      if (folder === '') throw toStorageError(err, 'watch', this.root)
      return
    }
    w.on('error', (err) => {
      if (folder !== '') return this.unwatch(folder) // it went away
      this.close()
      this.options.onError(toStorageError(err, 'watch', this.root))
    })
    this.watches.set(folder, w)
  }

  /** Stops watching a folder and every folder under it. */
  private unwatch(folder: string): void {
    for (const [path, w] of this.watches) {
      if (path !== '' && (path === folder || path.startsWith(`${folder}/`))) {
        w.close()
        this.watches.delete(path)
      }
    }
  }

  private touch(folder: string, name: string | Buffer | null): void {
    if (this.closed) return
    if (name === null) this.rescan = true
    else {
      const own = name.toString().split(sep).join('/')
      const path = folder === '' ? own : `${folder}/${own}`
      if (path === '.gitignore' || path.endsWith('/.gitignore')) this.rescan = true
      else if (this.rules.ignores(path, false)) return
      else this.touched.add(path)
    }
    this.schedule()
  }

  private gather(path: string): void {
    this.touched.add(path)
    this.schedule()
  }

  private schedule(): void {
    const now = Date.now()
    if (!this.timer) this.firstTouch = now
    else clearTimeout(this.timer)
    const wait = Math.min(
      this.options.debounceMs ?? 150,
      this.firstTouch + (this.options.maxWaitMs ?? 1000) - now,
    )
    this.timer = setTimeout(
      () => {
        this.timer = null
        const exclusive = this.options.exclusive ?? ((read) => read())
        this.flushing = this.flushing.then(() => exclusive(() => this.flush()))
      },
      Math.max(0, wait),
    )
  }

  private async flush(): Promise<void> {
    if (this.closed) return
    const rescan = this.rescan
    const paths = topMost([...this.touched])
    this.touched.clear()
    this.rescan = false
    const fs = this.options.fs ?? nodeFs
    try {
      if (rescan) this.rules = await loadRules(this.root, fs)
      const written = this.options.written
      const now = await scanPaths(
        this.root,
        rescan ? [''] : paths,
        this.rules,
        fs,
        written ? { written } : {},
      )
      const there = new Set([
        ...now.folders,
        ...now.files.map((f) => f.path),
        ...now.leftOut.map((l) => l.path),
      ])
      const gone = rescan ? [] : paths.filter((p) => !there.has(p) && !this.rules.ignores(p, false))
      for (const p of gone) this.unwatch(p)
      const fresh = now.folders.filter((f) => !this.watches.has(f))
      for (const folder of fresh) this.watchFolder(folder)
      if (!this.closed) this.options.onDelta({ gone, now, rescan })
      // What was made in a new folder between this read and its watch is read next time.
      for (const folder of fresh) this.gather(folder)
    } catch (err) {
      this.options.onError(toStorageError(err, 'read', this.root))
    }
  }
}

/**
 * The paths, less those under another of them (a touched folder is read whole), in name order. Each
 * path's folders are looked up, not every path kept so far: a join's writes touch thousands of paths.
 */
function topMost(paths: string[]): string[] {
  const all = new Set(paths)
  const under = (p: string): boolean => {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1))
      if (all.has(p.slice(0, i))) return true
    return false
  }
  return [...all].sort().filter((p) => !under(p))
}
