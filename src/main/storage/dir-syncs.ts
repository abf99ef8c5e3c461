/**
 * Directory fsyncs shared between callers (group commit for directory entries). A caller that needs a
 * new entry of `dir` durable (a document's folder just made in the documents folder) gets an fsync of
 * `dir` that started after it asked: the one in flight may have started before its entry was made, so
 * it waits for the next, which every caller that asked meanwhile shares. Opening 2,000 documents 8 at
 * a time then costs a few hundred fsyncs of the documents folder instead of 2,000, and each caller's
 * promise is the same as with its own fsync (src/main/storage/README.md, "Durability contract").
 */
import { syncDir, type StorageFs } from './fs-layer'

const ignore = (): void => undefined

export class DirSyncs {
  /** Per directory, the fsync in flight. */
  private readonly running = new Map<string, Promise<void>>()
  /** Per directory, the fsync that starts once the one in flight is over, shared by those waiting for it. */
  private readonly queued = new Map<string, Promise<void>>()

  constructor(private readonly fs: StorageFs) {}

  /** Resolves once an fsync of `dir` that started after this call is done; rejects if it failed. */
  sync(dir: string): Promise<void> {
    const queued = this.queued.get(dir)
    if (queued) return queued
    const running = this.running.get(dir)
    if (!running) return this.start(dir)
    const next = running.then(ignore, ignore).then(() => {
      this.queued.delete(dir)
      return this.start(dir)
    })
    this.queued.set(dir, next)
    return next
  }

  private start(dir: string): Promise<void> {
    const sync: Promise<void> = syncDir(this.fs, dir).finally(() => {
      if (this.running.get(dir) === sync) this.running.delete(dir)
    })
    this.running.set(dir, sync)
    return sync
  }
}
