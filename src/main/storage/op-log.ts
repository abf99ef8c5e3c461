/**
 * One op-log segment file, appended with group commit: appends made while a write or an fsync is in
 * flight go out together in the next write, and one fsync covers every write before it, so a burst of
 * keystrokes costs one fsync, not one each. Writes do not wait for the fsync in flight: an append is in
 * the file (`written`: a crash of this process keeps it) as soon as the write it joined returns.
 *
 * Guarantees, per segment and across a chain of segments (`predecessor`):
 * - Records reach the file in call order, and an append resolves only once its records and every record
 *   appended before it are fsynced (acknowledgements are prefix-closed: no acknowledged record can depend on
 *   one that is missing after a crash).
 * - A failed write rejects that append and everything queued behind it with a StorageError, cuts the
 *   file back to the end of the last good write, and keeps the records: they are written, in order,
 *   ahead of the next append. A failed fsync does the same for everything it covered and everything
 *   since, back to the last durable length. So nothing is lost while the disk is full, and the file
 *   never holds garbage followed by good records.
 */
import { dirname } from 'node:path'
import { closedError, toStorageError, type StorageError } from './errors'
import { syncDir, writeAll, type StorageFile, type StorageFs } from './fs-layer'
import { encodeRecordParts } from './log-format'

/** How long a deferred append waits at most for a write to join (`append`). */
export const DEFER_MS = 25
/**
 * How long a written deferred append waits at most for an fsync to join. While people type, a node gets
 * a peer's op every few milliseconds: an fsync for each write of them was most of the node's disk work,
 * and each costs CPU in the node and in the kernel's journal. Its own edits and flushes fsync at once,
 * and cover every deferred record written before them.
 */
export const SYNC_DEFER_MS = 250

interface Waiter {
  readonly records: readonly Uint8Array[]
  /** May wait DEFER_MS for its write, and SYNC_DEFER_MS for its fsync (`append`). */
  readonly deferred: boolean
  /** Called once the records are in the file (in the OS's hands: a crash of this process keeps them). */
  readonly written?: () => void
  resolve(): void
  reject(err: StorageError): void
}

/** One write: the appends it carried, and every record in it (records retained from a failure too). */
interface Written {
  readonly waiters: readonly Waiter[]
  readonly records: readonly Uint8Array[]
}

interface Fsync {
  readonly covers: readonly Written[]
  /** The file length it makes durable. */
  readonly end: number
  settled: boolean
  /** The file's bytes are durable (only the directory sync may have failed). */
  synced: boolean
  error: unknown
}

export class OpLog {
  readonly path: string
  private readonly fs: StorageFs
  private predecessor: OpLog | null
  private file: StorageFile | null = null
  /** Length of the durable, valid prefix of the file. */
  private size = 0
  /** Length of the valid prefix written so far (durable or not): `size` plus what awaits an fsync. */
  private end = 0
  /** Bytes past `end` may be on disk (a write failed midway) and must be cut off before the next write. */
  private dirty = false
  /** The directory entry of a newly created file is not yet known to be durable. */
  private dirSyncNeeded = false
  private queue: Waiter[] = []
  /** Written, waiting for an fsync to start (in write order). */
  private unsynced: Written[] = []
  private syncing: Fsync | null = null
  /** Wakes the loop from its wait for an append or for the fsync in flight. */
  private wake: (() => void) | null = null
  /** Records whose write failed; they go out first next time. */
  private retained: Uint8Array[] = []
  private running: Promise<void> | null = null
  /** Set while deferred appends wait for their write (`append`). */
  private deferTimer: ReturnType<typeof setTimeout> | null = null
  /** Set while written deferred appends wait for an fsync (`append`). */
  private syncTimer: ReturnType<typeof setTimeout> | null = null
  /** The next loop fsyncs what is written, deferred or not (the timer, `idle`, a close). */
  private syncNow = false
  private closed = false
  /** The file does not exist yet (its folder was made just now): its size is 0, no stat needed. */
  private absent: boolean

  constructor(fs: StorageFs, path: string, predecessor: OpLog | null = null, absent = false) {
    this.fs = fs
    this.path = path
    this.predecessor = predecessor
    this.absent = absent
  }

  /**
   * Resolves once `records` and everything appended earlier are durable; `[]` just flushes retained records.
   * `written` is called before that, once they are written but not yet fsynced: a crash of this process
   * can no longer lose them, a crash of the OS still can. The buffers are kept as they are, not copied:
   * the caller must not modify them afterwards. `deferred`: the records may wait up to DEFER_MS for the
   * next write (another append's, or the fsync in flight's successor), in their place in the order, and
   * once written up to SYNC_DEFER_MS for the next fsync (another append's, a flush's, or the timer's).
   */
  append(records: readonly Uint8Array[], written?: () => void, deferred = false): Promise<void> {
    if (this.closed) return Promise.reject(closedError(`The op log ${this.path}`))
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, deferred, written, resolve, reject })
      // A deferred append waits for the next write, or DEFER_MS at most: a peer's ops arrive several
      // at a time while people type, and each write and fsync costs the node as much CPU as the op.
      if (deferred && !this.running) this.deferTimer ??= setTimeout(() => this.kick(), DEFER_MS)
      else if (!deferred) this.kick()
    })
  }

  /** Resolves when nothing is queued or in flight here or in any predecessor. Never rejects. */
  async idle(): Promise<void> {
    await this.predecessor?.idle()
    if (this.deferTimer !== null || this.syncTimer !== null || this.unsynced.length > 0) {
      this.syncNow = true
      this.kick()
    }
    while (this.running) await this.running
  }

  /**
   * Writes what is queued (deferred appends included), starting a microtask from now: the appends made
   * in the same turn go out in one write and one fsync. A replica's first edit appends its claim, its
   * author record and its ops one after another; started at once, the claim went out alone, and each
   * part waited for an fsync of its own.
   */
  private kick(): void {
    if (this.deferTimer !== null) clearTimeout(this.deferTimer)
    this.deferTimer = null
    this.wake?.()
    if (!this.running) this.running = Promise.resolve().then(() => this.run())
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

  /** Writes what is queued, one write at a time, while at most one fsync runs beside them. */
  private async run(): Promise<void> {
    if (this.predecessor) {
      await this.predecessor.idle()
      this.retained.unshift(...this.predecessor.takeRetained())
      this.predecessor = null
    }
    for (;;) {
      this.settleFsync()
      if (this.queue.length > 0) {
        const waiters = this.queue.splice(0)
        const records = [...this.retained, ...waiters.flatMap((w) => w.records)]
        this.retained = []
        try {
          await this.write(records)
        } catch (err) {
          // Whatever was queued behind may depend on the failed records: it fails with them, and is
          // kept with them. Earlier writes stand: their fsync is in flight or still to come.
          const behind = this.queue.splice(0)
          this.retained = [...records, ...behind.flatMap((w) => w.records)]
          const error = toStorageError(err, 'write the op log', this.path)
          for (const w of [...waiters, ...behind]) w.reject(error)
          continue
        }
        for (const w of waiters) w.written?.()
        this.unsynced.push({ waiters, records })
      }
      if (!this.syncing && this.unsynced.length > 0) {
        if (this.syncNow || this.unsynced.some((w) => w.waiters.some((x) => !x.deferred))) {
          this.startFsync()
        } else {
          this.syncTimer ??= setTimeout(() => {
            this.syncTimer = null
            this.syncNow = true
            this.kick()
          }, SYNC_DEFER_MS)
        }
      }
      // An fsync that finished during the write above found no one waiting: settle it now.
      if (this.queue.length > 0 || this.syncing?.settled) continue
      if (!this.syncing) break
      await new Promise<void>((resolve) => (this.wake = resolve))
      this.wake = null
    }
    this.running = null
  }

  private async write(records: readonly Uint8Array[]): Promise<void> {
    if (records.length === 0 && !this.dirty) return
    const file = await this.openFile()
    if (this.dirty) {
      await file.truncate(this.end)
      this.dirty = false
    }
    if (records.length === 0) return
    const parts = encodeRecordParts(records, this.end === 0)
    this.dirty = true
    let length = 0
    for (const part of parts) {
      await writeAll(file, part)
      length += part.byteLength
    }
    this.end += length
    this.dirty = false
  }

  /** One fsync (and the directory's, for a new file) covering every write so far. */
  private startFsync(): void {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer)
    this.syncTimer = null
    this.syncNow = false
    const covers = this.unsynced.splice(0)
    if (this.end === this.size && !this.dirSyncNeeded) {
      for (const w of covers) for (const waiter of w.waiters) waiter.resolve()
      return
    }
    const fsync: Fsync = { covers, end: this.end, settled: false, synced: false, error: null }
    this.syncing = fsync
    const file = this.file
    void (async () => {
      try {
        if (fsync.end > this.size) await file!.sync()
        fsync.synced = true
        if (this.dirSyncNeeded) {
          // The records are in the file; if this fails they are not retained (that would duplicate
          // them), but nothing is acknowledged until a later attempt has synced the directory.
          await syncDir(this.fs, dirname(this.path))
          this.dirSyncNeeded = false
        }
      } catch (err) {
        fsync.error = err
      }
      fsync.settled = true
      this.wake?.()
    })()
  }

  /** Acts on an fsync that has finished; the loop calls it between writes, so no write is in flight. */
  private settleFsync(): void {
    const fsync = this.syncing
    if (!fsync?.settled) return
    this.syncing = null
    if (fsync.synced) this.size = Math.max(this.size, fsync.end)
    if (fsync.error === null) {
      for (const w of fsync.covers) for (const waiter of w.waiters) waiter.resolve()
      return
    }
    const error = toStorageError(fsync.error, 'write the op log', this.path)
    // What the fsync covered may not be on disk, and what was written since may depend on it: all of it
    // fails, and all of it is kept, to be written again from the last durable length.
    const failed = [...fsync.covers, ...this.unsynced.splice(0)]
    const behind = this.queue.splice(0)
    if (!fsync.synced) {
      this.retained = [...failed.flatMap((w) => w.records), ...this.retained]
      this.end = this.size
      this.dirty = true
    }
    this.retained.push(...behind.flatMap((w) => w.records))
    for (const waiter of [...failed.flatMap((w) => w.waiters), ...behind]) waiter.reject(error)
  }

  private async openFile(): Promise<StorageFile> {
    if (this.file) return this.file
    // Opened (made if new), then measured: a new segment's stat no longer fails first (an error costs
    // more than the call, once per document made). An empty file may be one made just now: its
    // directory entry is made durable with its first records, as a new file's.
    const file = await this.fs.open(this.path, 'a')
    try {
      // A document made in this run: one thread-pool hop less for each of a project's 2,000 files.
      this.size = this.absent ? 0 : (await this.fs.stat(this.path)).size
      this.absent = false // true of the file as it was before this open, not after
    } catch (err) {
      await file.close().catch(() => undefined)
      throw err
    }
    this.end = this.size
    this.file = file
    this.dirSyncNeeded ||= this.size === 0
    return this.file
  }
}
