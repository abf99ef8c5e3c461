/**
 * One op-log segment file, appended with group commit: appends made while a write+fsync is in flight
 * wait and go out together in the next write, so a burst of keystrokes costs one fsync, not one each.
 *
 * Guarantees, per segment and across a chain of segments (`predecessor`):
 * - Records reach the file in call order, and an append resolves only once its records and every record
 *   appended before it are fsynced (acknowledgements are prefix-closed: no acknowledged record can depend on
 *   one that is missing after a crash).
 * - A failed write or fsync rejects that batch and everything queued behind it with a StorageError, cuts
 *   the file back to its last durable length, and keeps the records: they are written, in order, ahead of
 *   the next append. So nothing is lost while the disk is full, and the file never holds garbage followed
 *   by good records.
 */
import { dirname } from 'node:path'
import { closedError, toStorageError, type StorageError } from './errors'
import { errnoCode, syncDir, writeAll, type StorageFile, type StorageFs } from './fs-layer'
import { encodeRecords } from './log-format'

interface Waiter {
  readonly records: readonly Uint8Array[]
  resolve(): void
  reject(err: StorageError): void
}

export class OpLog {
  readonly path: string
  private readonly fs: StorageFs
  private predecessor: OpLog | null
  private file: StorageFile | null = null
  /** Length of the durable, valid prefix of the file. */
  private size = 0
  /** Bytes past `size` may be on disk (a write failed midway) and must be cut off before the next write. */
  private dirty = false
  /** The directory entry of a newly created file is not yet known to be durable. */
  private dirSyncNeeded = false
  private queue: Waiter[] = []
  /** Records whose write failed; they go out first next time. */
  private retained: Uint8Array[] = []
  private running: Promise<void> | null = null
  /** The current batch's bytes are in the file (only the directory sync may still be missing). */
  private landed = false
  private closed = false

  constructor(fs: StorageFs, path: string, predecessor: OpLog | null = null) {
    this.fs = fs
    this.path = path
    this.predecessor = predecessor
  }

  /**
   * Resolves once `records` and everything appended earlier are durable; `[]` just flushes retained records.
   * The buffers are kept as they are, not copied: the caller must not modify them afterwards.
   */
  append(records: readonly Uint8Array[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError(`The op log ${this.path}`))
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject })
      if (!this.running) this.running = this.run()
    })
  }

  /** Resolves when nothing is queued or in flight here or in any predecessor. Never rejects. */
  async idle(): Promise<void> {
    await this.predecessor?.idle()
    while (this.running) await this.running
  }

  /** Records that could not be written. A successor segment takes them over so they are not lost. */
  takeRetained(): Uint8Array[] {
    const taken = this.retained
    this.retained = []
    return taken
  }

  /** Waits for in-flight writes, then closes the file. Records still retained stay retrievable. Idempotent. */
  async close(): Promise<void> {
    this.closed = true
    await this.idle()
    const file = this.file
    this.file = null
    await file?.close().catch(() => undefined)
  }

  private async run(): Promise<void> {
    if (this.predecessor) {
      await this.predecessor.idle()
      this.retained.unshift(...this.predecessor.takeRetained())
      this.predecessor = null
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0)
      const records = [...this.retained, ...batch.flatMap((w) => w.records)]
      this.landed = false
      try {
        await this.writeDurably(records)
        this.retained = []
        for (const w of batch) w.resolve()
      } catch (err) {
        const error = toStorageError(err, 'write the op log', this.path)
        // Whatever was queued behind may depend on the failed records: it fails with them, and is kept with them.
        const behind = this.queue.splice(0)
        this.retained = [...(this.landed ? [] : records), ...behind.flatMap((w) => w.records)]
        for (const w of [...batch, ...behind]) w.reject(error)
      }
    }
    this.running = null
  }

  private async writeDurably(records: readonly Uint8Array[]): Promise<void> {
    if (records.length === 0 && !this.dirty && !this.dirSyncNeeded) return
    const file = await this.openFile()
    if (this.dirty) {
      await file.truncate(this.size)
      this.dirty = false
    }
    if (records.length > 0) {
      const bytes = encodeRecords(records, this.size === 0)
      this.dirty = true
      await writeAll(file, bytes)
      await file.sync()
      this.size += bytes.byteLength
      this.dirty = false
      this.landed = true
    }
    if (this.dirSyncNeeded) {
      // The records are in the file; if this fails they are not retained (that would duplicate them), but
      // nothing is acknowledged until a later attempt has synced the directory.
      await syncDir(this.fs, dirname(this.path))
      this.dirSyncNeeded = false
    }
  }

  private async openFile(): Promise<StorageFile> {
    if (this.file) return this.file
    let existed = true
    try {
      this.size = (await this.fs.stat(this.path)).size
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
      existed = false
      this.size = 0
    }
    this.file = await this.fs.open(this.path, 'a')
    this.dirSyncNeeded ||= !existed
    return this.file
  }
}
