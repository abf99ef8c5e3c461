/**
 * The DocStore on disk. One folder per document:
 *
 *   <dir>/<docId>/snap-<g>.bin   snapshot g: the document as of every record in segments < g (atomic write)
 *   <dir>/<docId>/log-<g>.bin    op-log segment g: records appended after snapshot g was requested
 *
 * `writeSnapshot` starts a new segment at once (so later appends are never mistaken for covered ones),
 * writes the snapshot, then prunes. It keeps the newest valid snapshot before the new one and every segment
 * since it, so a corrupt newest snapshot falls back to the previous one and the log still covers the gap.
 * Without any valid snapshot, a document can only be rebuilt if segment 0 (history from empty) is there;
 * otherwise loading throws CorruptStoreError and writes nothing.
 */
import { join } from 'node:path'
import { removeStaleTemps, writeFileAtomic } from './atomic-write'
import { assertDocId, isDocId, type DocStore, type LoadedDoc, type StoreWarning } from './doc-store'
import { CorruptStoreError, closedError, toStorageError } from './errors'
import { errnoCode, nodeFs, syncDir, type StorageFs } from './fs-layer'
import { decodeSegment } from './log-format'
import { OpLog } from './op-log'
import { decodeSnapshot, encodeSnapshot } from './snapshot-format'

export interface FileStoreOptions {
  /** The folder that holds one subfolder per document, e.g. `<data dir>/docs`. */
  readonly dir: string
  readonly fs?: StorageFs
}

interface SnapshotFile {
  readonly gen: number
  /** False when its checksum failed at load; it is then never a fallback. */
  readonly valid: boolean
}

interface DocState {
  /** Segment that receives appends. */
  gen: number
  log: OpLog
  snapshots: SnapshotFile[]
  /** The latest snapshot write and prune; snapshot writes of one document run one after another. */
  snapshotTask: Promise<void>
}

const SNAP = /^snap-(\d{1,9})\.bin$/
const LOG = /^log-(\d{1,9})\.bin$/

export class FileStore implements DocStore {
  readonly dir: string
  private readonly fs: StorageFs
  /**
   * Per document, its state once the folder exists. Every mutating call awaits exactly this one promise
   * before acting synchronously, so calls take effect in call order.
   */
  private readonly docs = new Map<string, Promise<DocState>>()
  private closing: Promise<void> | null = null

  constructor(options: FileStoreOptions) {
    this.dir = options.dir
    this.fs = options.fs ?? nodeFs
  }

  async list(): Promise<string[]> {
    this.check()
    const names = await this.fs.readdir(this.dir).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return []
      throw toStorageError(err, 'list the documents in', this.dir)
    })
    const ids: string[] = []
    for (const name of names) {
      if (!isDocId(name)) continue
      const files = await this.fs.readdir(join(this.dir, name)).catch(() => [])
      if (files.some((f) => SNAP.test(f) || LOG.test(f))) ids.push(name)
    }
    return ids.sort()
  }

  async load(docId: string): Promise<LoadedDoc | null> {
    assertDocId(docId)
    this.check()
    const previous = this.docs.get(docId)
    this.docs.delete(docId)
    if (previous)
      await previous.then(
        (st) => this.release(st),
        () => undefined,
      )
    const scanned = this.scan(docId)
    this.remember(
      docId,
      scanned.then((s) => s.state),
    )
    return (await scanned).loaded
  }

  async append(docId: string, records: readonly Uint8Array[], written?: () => void): Promise<void> {
    assertDocId(docId)
    this.check()
    // Copy now: the caller may reuse its buffers as soon as this returns.
    const copies = records.map((r) => r.slice())
    const st = await this.state(docId)
    this.check()
    return st.log.append(copies, written)
  }

  async writeSnapshot(docId: string, snapshot: Uint8Array): Promise<void> {
    assertDocId(docId)
    this.check()
    const st = await this.state(docId)
    this.check()
    // Rotate before any await: records appended from now on are not in `snapshot` and must stay in the log.
    const gen = st.gen + 1
    const old = st.log
    st.gen = gen
    st.log = new OpLog(this.fs, this.segmentPath(docId, gen), old)
    const bytes = encodeSnapshot(gen, snapshot)
    const previous = st.snapshotTask
    const task = (async () => {
      await previous.catch(() => undefined)
      try {
        await writeFileAtomic(this.fs, this.snapshotPath(docId, gen), bytes, { action: 'write the snapshot' })
        st.snapshots.push({ gen, valid: true })
      } finally {
        // The old segment's records are on disk or retained (and taken over by the new segment) by now.
        await old.close()
      }
      await this.prune(docId, st, gen)
    })()
    st.snapshotTask = task
    return task
  }

  async remove(docId: string): Promise<void> {
    assertDocId(docId)
    this.check()
    const st = this.docs.get(docId)
    this.docs.delete(docId)
    if (st)
      await st.then(
        (s) => this.release(s),
        () => undefined,
      )
    try {
      await this.fs.rmTree(join(this.dir, docId))
      await syncDir(this.fs, this.dir)
    } catch (err) {
      throw toStorageError(err, 'remove the document folder', join(this.dir, docId))
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const states = [...this.docs.values()]
      this.docs.clear()
      for (const st of states)
        await st.then(
          (s) => this.release(s),
          () => undefined,
        )
    })()
    return this.closing
  }

  /** Lets a document's writes in flight finish and closes its files. */
  private async release(st: DocState): Promise<void> {
    await st.snapshotTask.catch(() => undefined)
    await st.log.close()
  }

  private state(docId: string): Promise<DocState> {
    let st = this.docs.get(docId)
    if (!st) {
      st = this.scan(docId).then((s) => s.state)
      this.remember(docId, st)
    }
    return st
  }

  /**
   * Caches a document's state. A failed scan is forgotten so that the next call scans again (the disk
   * may have recovered); the calls already waiting on it fail with it, having written nothing.
   */
  private remember(docId: string, st: Promise<DocState>): void {
    this.docs.set(docId, st)
    st.catch(() => {
      if (this.docs.get(docId) === st) this.docs.delete(docId)
    })
  }

  /**
   * Reads the newest valid snapshot and the segments after it, cuts damaged segment tails, and makes sure
   * the folder exists for later appends. Throws before writing anything if the document cannot be rebuilt.
   */
  private async scan(docId: string): Promise<{ state: DocState; loaded: LoadedDoc | null }> {
    const dir = join(this.dir, docId)
    let names: string[]
    try {
      names = await this.fs.readdir(dir)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw toStorageError(err, 'read the document folder', dir)
      await this.createDir(dir)
      return { state: this.newState(docId, 0, []), loaded: null }
    }
    const gens = (re: RegExp): number[] =>
      names
        .map((n) => re.exec(n)?.[1])
        .filter((g): g is string => g !== undefined)
        .map(Number)
        .sort((a, b) => a - b)
    const snapGens = gens(SNAP)
    const logGens = gens(LOG)
    const warnings: StoreWarning[] = []
    const snapshots: SnapshotFile[] = snapGens.map((gen) => ({ gen, valid: true }))

    let base: { gen: number; payload: Uint8Array | null } | null = null
    for (let i = snapshots.length - 1; i >= 0 && !base; i--) {
      const gen = snapshots[i]!.gen
      const file = this.snapshotPath(docId, gen)
      const bytes = await this.read(file)
      const decoded = decodeSnapshot(bytes, gen)
      if (typeof decoded === 'string') {
        snapshots[i] = { gen, valid: false }
        warnings.push({ kind: 'corrupt-snapshot', file, detail: decoded })
      } else {
        base = { gen, payload: decoded }
      }
    }
    if (!base) {
      if (!logGens.includes(0) && (snapGens.length > 0 || logGens.length > 0)) {
        const files = snapGens.length > 0 ? snapGens.map((g) => this.snapshotPath(docId, g)) : [dir]
        const detail = warnings.map((w) => w.detail).join('; ') || 'no snapshot and no log from the start'
        throw new CorruptStoreError(docId, files, detail)
      }
      base = { gen: 0, payload: null }
    }

    const records: Uint8Array[] = []
    for (const gen of logGens.filter((g) => g >= base.gen)) {
      const file = this.segmentPath(docId, gen)
      const bytes = await this.read(file)
      const segment = decodeSegment(bytes)
      records.push(...segment.records)
      if (segment.problem !== undefined) {
        warnings.push({
          kind: 'log-truncated',
          file,
          validLength: segment.validLength,
          droppedBytes: bytes.byteLength - segment.validLength,
          detail: segment.problem,
        })
        await this.truncate(file, segment.validLength)
      }
    }
    await removeStaleTemps(this.fs, dir)
    const gen = Math.max(0, ...snapGens, ...logGens)
    const empty = snapGens.length === 0 && logGens.length === 0
    return {
      state: this.newState(docId, gen, snapshots),
      loaded: empty ? null : { snapshot: base.payload, records, warnings },
    }
  }

  /** Deletes snapshots and segments that no fallback can need any more. Failure only leaves clutter. */
  private async prune(docId: string, st: DocState, newest: number): Promise<void> {
    const fallback = st.snapshots.filter((s) => s.valid && s.gen < newest).at(-1)?.gen ?? 0
    const dir = join(this.dir, docId)
    const names = await this.fs.readdir(dir).catch(() => [])
    const doomed = names.filter((n) => {
      const snap = SNAP.exec(n)?.[1]
      if (snap !== undefined) return Number(snap) < newest && Number(snap) !== fallback
      const log = LOG.exec(n)?.[1]
      return log !== undefined && Number(log) < fallback
    })
    if (doomed.length === 0) return
    await Promise.all(doomed.map((n) => this.fs.unlink(join(dir, n)).catch(() => undefined)))
    st.snapshots = st.snapshots.filter((s) => s.gen >= newest || s.gen === fallback)
    await syncDir(this.fs, dir).catch(() => undefined)
  }

  private newState(docId: string, gen: number, snapshots: SnapshotFile[]): DocState {
    return {
      gen,
      log: new OpLog(this.fs, this.segmentPath(docId, gen)),
      snapshots,
      snapshotTask: Promise.resolve(),
    }
  }

  private async createDir(dir: string): Promise<void> {
    try {
      await this.fs.mkdir(dir)
      await syncDir(this.fs, this.dir)
    } catch (err) {
      throw toStorageError(err, 'create the document folder', dir)
    }
  }

  private async read(file: string): Promise<Uint8Array> {
    try {
      return await this.fs.readFile(file)
    } catch (err) {
      throw toStorageError(err, 'read', file)
    }
  }

  private async truncate(file: string, length: number): Promise<void> {
    try {
      const handle = await this.fs.open(file, 'a')
      try {
        await handle.truncate(length)
        await handle.sync()
      } finally {
        await handle.close()
      }
    } catch (err) {
      throw toStorageError(err, 'repair the op log', file)
    }
  }

  private snapshotPath(docId: string, gen: number): string {
    return join(this.dir, docId, `snap-${gen}.bin`)
  }

  private segmentPath(docId: string, gen: number): string {
    return join(this.dir, docId, `log-${gen}.bin`)
  }

  private check(): void {
    if (this.closing) throw closedError('The document store')
  }
}
