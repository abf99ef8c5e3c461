/**
 * The DocStore on disk. One folder per document:
 *
 *   <dir>/<docId>/snap-<g>.bin   snapshot g: the document as of every record in segments < g (atomic write)
 *   <dir>/<docId>/log-<g>.bin    op-log segment g: records appended after snapshot g was requested
 *   <dir>/<docId>/hist-<h>.bin   a chunk of history a snapshot keeps apart, named by its SHA-256: written
 *                                once (before the first snapshot naming it), shared by the snapshots
 *                                that name it, removed once none kept does
 *
 * `writeSnapshot` starts a new segment at once (so later appends are never mistaken for covered ones),
 * writes the snapshot, then prunes. It keeps the newest valid snapshot before the new one and every segment
 * since it, so a corrupt newest snapshot falls back to the previous one and the log still covers the gap.
 * Without any valid snapshot, a document can only be rebuilt if segment 0 (history from empty) is there;
 * otherwise loading throws CorruptStoreError and writes nothing.
 */
import { createHash } from 'node:crypto'
import { basename, join } from 'node:path'
import { isTempName, removeStaleTemps, writeFileAtomic } from './atomic-write'
import {
  assertDocId,
  isDocId,
  type AppendOptions,
  type DocStore,
  type LoadedDoc,
  type StoreWarning,
} from './doc-store'
import { CorruptStoreError, closedError, toStorageError } from './errors'
import { errnoCode, nodeFs, syncDir, type StorageFs } from './fs-layer'
import { decodeSegment } from './log-format'
import { OpLog } from './op-log'
import { crc32 } from './crc32'
import { DirSyncs } from './dir-syncs'
import { decodeSnapshot, encodeSnapshotParts, historyEntry, type HistoryEntry } from './snapshot-format'

export interface FileStoreOptions {
  /** The folder that holds one subfolder per document, e.g. `<data dir>/docs`. */
  readonly dir: string
  readonly fs?: StorageFs
}

interface SnapshotFile {
  readonly gen: number
  /** False when its checksum failed at load; it is then never a fallback. */
  readonly valid: boolean
  /** The history files it names, if known (written in this run, or read at load). */
  history?: readonly HistoryEntry[]
}

interface DocState {
  /** Segment that receives appends. */
  gen: number
  log: OpLog
  snapshots: SnapshotFile[]
  /** The latest snapshot write and prune; snapshot writes of one document run one after another. */
  snapshotTask: Promise<void>
  /** History files known to be on disk, complete (written and renamed, or checked at load). */
  readonly histories: Set<string>
}

const SNAP = /^snap-(\d{1,9})\.bin$/
const LOG = /^log-(\d{1,9})\.bin$/
const HIST = /^hist-([0-9a-f]{64})\.bin$/

/** Entries of history chunks already hashed: a chunk kept since the load is the same bytes each time. */
const chunkEntries = new WeakMap<Uint8Array, HistoryEntry>()
function entryOf(chunk: Uint8Array): HistoryEntry {
  let entry = chunkEntries.get(chunk)
  if (entry === undefined) {
    entry = historyEntry(createHash('sha256').update(chunk).digest('hex'), chunk)
    chunkEntries.set(chunk, entry)
  }
  return entry
}

export class FileStore implements DocStore {
  readonly dir: string
  private readonly fs: StorageFs
  /**
   * Per document, its state once the folder exists. Every mutating call awaits exactly this one promise
   * before acting synchronously, so calls take effect in call order.
   */
  private readonly docs = new Map<string, Promise<DocState>>()
  private closing: Promise<void> | null = null
  /** fsyncs of the documents folder, shared by the documents made meanwhile (dir-syncs.ts). */
  private readonly dirSyncs: DirSyncs
  /**
   * The documents' folders as first listed, with those made here since: a hint only, so that a
   * document never seen is made without first failing to read its folder (an error costs more than
   * the read; a project of 2,000 files made 2,000 of them). The folder is read either way.
   */
  private folders: Promise<Set<string>> | null = null

  constructor(options: FileStoreOptions) {
    this.dir = options.dir
    this.fs = options.fs ?? nodeFs
    this.dirSyncs = new DirSyncs(this.fs)
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
        (st) => this.releaseState(st),
        () => undefined,
      )
    const scanned = this.scan(docId)
    this.remember(
      docId,
      scanned.then((s) => s.state),
    )
    return (await scanned).loaded
  }

  async append(docId: string, records: readonly Uint8Array[], options: AppendOptions = {}): Promise<void> {
    assertDocId(docId)
    this.check()
    // Copy now (unless handed over): the caller may reuse its buffers as soon as this returns.
    const copies = options.handOver ? records : records.map((r) => r.slice())
    const st = await this.state(docId)
    this.check()
    return st.log.append(copies, options.written, options.deferred)
  }

  async writeSnapshot(
    docId: string,
    snapshot: Uint8Array,
    history: readonly Uint8Array[] = [],
  ): Promise<void> {
    assertDocId(docId)
    this.check()
    const entries = history.map(entryOf)
    const st = await this.state(docId)
    this.check()
    // Rotate before any await: records appended from now on are not in `snapshot` and must stay in the log.
    const gen = st.gen + 1
    const old = st.log
    st.gen = gen
    st.log = new OpLog(this.fs, this.segmentPath(docId, gen), old)
    const bytes = encodeSnapshotParts(gen, entries, snapshot)
    const previous = st.snapshotTask
    const task = (async () => {
      await previous.catch(() => undefined)
      try {
        // Each chunk once, and before the snapshot that names it.
        for (let i = 0; i < entries.length; i++) {
          const name = entries[i]!.name
          if (st.histories.has(name)) continue
          await writeFileAtomic(this.fs, this.historyPath(docId, name), history[i]!, {
            action: 'write the history',
          })
          st.histories.add(name)
        }
        await writeFileAtomic(this.fs, this.snapshotPath(docId, gen), bytes, { action: 'write the snapshot' })
        st.snapshots.push({ gen, valid: true, history: entries })
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
        (s) => this.releaseState(s),
        () => undefined,
      )
    try {
      await this.fs.rmTree(join(this.dir, docId))
      await this.dirSyncs.sync(this.dir)
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
          (s) => this.releaseState(s),
          () => undefined,
        )
    })()
    return this.closing
  }

  async release(docId: string): Promise<void> {
    const st = this.docs.get(docId)
    if (!st) return
    this.docs.delete(docId)
    await st.then(
      (s) => this.releaseState(s),
      () => undefined,
    )
  }

  /** Lets a document's writes in flight finish and closes its files. */
  private async releaseState(st: DocState): Promise<void> {
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
    // Not listed: most likely new. Made first; one that existed (made by another run since the
    // listing) is read like any other, one made just now is empty.
    const listed = (await this.listedFolders()).has(docId)
    try {
      if (!listed && (await this.createDir(dir))) {
        return { state: this.newState(docId, 0, [], new Set(), true), loaded: null }
      }
      names = await this.fs.readdir(dir)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw toStorageError(err, 'read the document folder', dir)
      await this.createDir(dir)
      return { state: this.newState(docId, 0, []), loaded: null }
    }
    if (names.length === 0) {
      // Made by a run that was killed before its first record: its entry may not be durable yet.
      if (listed) await this.syncDocsDir(dir)
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

    const histories = new Set<string>()
    let base: { gen: number; payload: Uint8Array | null; history: Uint8Array[] } | null = null
    for (let i = snapshots.length - 1; i >= 0 && !base; i--) {
      const gen = snapshots[i]!.gen
      const file = this.snapshotPath(docId, gen)
      const bytes = await this.read(file)
      const decoded = decodeSnapshot(bytes, gen)
      const history =
        typeof decoded === 'string' ? decoded : await this.readHistory(docId, decoded.history, names)
      if (typeof decoded === 'string' || typeof history === 'string') {
        snapshots[i] = { gen, valid: false }
        warnings.push({
          kind: 'corrupt-snapshot',
          file,
          detail: typeof decoded === 'string' ? decoded : String(history),
        })
      } else {
        snapshots[i] = { gen, valid: true, history: decoded.history }
        for (const entry of decoded.history) histories.add(entry.name)
        base = { gen, payload: decoded.payload, history }
      }
    }
    if (!base) {
      if (!logGens.includes(0) && (snapGens.length > 0 || logGens.length > 0)) {
        const files = snapGens.length > 0 ? snapGens.map((g) => this.snapshotPath(docId, g)) : [dir]
        const detail = warnings.map((w) => w.detail).join('; ') || 'no snapshot and no log from the start'
        throw new CorruptStoreError(docId, files, detail)
      }
      base = { gen: 0, payload: null, history: [] }
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
    // Listed above (no write of this document runs before its scan): read again only if one is there.
    if (names.some(isTempName)) await removeStaleTemps(this.fs, dir)
    const gen = Math.max(0, ...snapGens, ...logGens)
    const empty = snapGens.length === 0 && logGens.length === 0
    return {
      state: this.newState(docId, gen, snapshots, histories),
      loaded: empty ? null : { snapshot: base.payload, history: base.history, records, warnings },
    }
  }

  /** The history chunks a snapshot names, each checked against its name, or why one cannot be used. */
  private async readHistory(
    docId: string,
    history: readonly HistoryEntry[],
    present: readonly string[],
  ): Promise<Uint8Array[] | string> {
    for (const entry of history) {
      const file = `hist-${entry.name}.bin`
      if (!present.includes(file)) return `its history file ${file} is missing`
    }
    // All at once: an open waits for the slowest read, not for the sum of them (a document with a long
    // history has a chunk file per compaction that added to it).
    const chunks = await Promise.all(history.map((entry) => this.read(this.historyPath(docId, entry.name))))
    for (let i = 0; i < history.length; i++) {
      const entry = history[i]!
      const chunk = chunks[i]!
      if (chunk.byteLength !== entry.length || crc32(chunk) !== entry.crc) {
        return `its history file hist-${entry.name}.bin is damaged (length or checksum differs)`
      }
      // Known now: the next compaction names it without hashing it again.
      chunkEntries.set(chunk, entry)
    }
    return chunks
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
    st.snapshots = st.snapshots.filter((s) => s.gen >= newest || s.gen === fallback)
    // History files that no snapshot kept names (left by a compaction's joined chunks, or by a crash
    // between a chunk and its snapshot). Only once every kept snapshot's list is known.
    const named = await this.namedHistory(docId, st)
    if (named) {
      for (const n of names) {
        const hash = HIST.exec(n)?.[1]
        if (hash !== undefined && !named.has(hash)) {
          doomed.push(n)
          st.histories.delete(hash)
        }
      }
    }
    if (doomed.length === 0) return
    await Promise.all(doomed.map((n) => this.fs.unlink(join(dir, n)).catch(() => undefined)))
    await syncDir(this.fs, dir).catch(() => undefined)
  }

  /** The history files the kept snapshots name, or null if one of their lists cannot be read. */
  private async namedHistory(docId: string, st: DocState): Promise<Set<string> | null> {
    const named = new Set<string>()
    for (const snap of st.snapshots) {
      if (!snap.history) {
        const bytes = await this.fs.readFile(this.snapshotPath(docId, snap.gen)).catch(() => null)
        const decoded = bytes && decodeSnapshot(bytes, snap.gen)
        if (!decoded || typeof decoded === 'string') return null
        snap.history = decoded.history
      }
      for (const entry of snap.history) named.add(entry.name)
    }
    return named
  }

  private newState(
    docId: string,
    gen: number,
    snapshots: SnapshotFile[],
    histories = new Set<string>(),
    /** The document's folder was made just now: its first segment does not exist yet. */
    madeNow = false,
  ): DocState {
    return {
      gen,
      log: new OpLog(this.fs, this.segmentPath(docId, gen), null, madeNow),
      snapshots,
      snapshotTask: Promise.resolve(),
      histories,
    }
  }

  /** The documents' folders listed (once), and those made here since: see `folders`. */
  private listedFolders(): Promise<Set<string>> {
    this.folders ??= this.fs.readdir(this.dir).then(
      (names) => new Set(names),
      () => new Set<string>(),
    )
    return this.folders
  }

  /**
   * Makes a document's folder (no error if it exists) and its entry durable (a shared fsync); true if
   * it made it (then it is empty).
   */
  private async createDir(dir: string): Promise<boolean> {
    let made: boolean
    try {
      made = await this.fs.mkdir(dir)
      ;(await this.listedFolders()).add(basename(dir))
    } catch (err) {
      throw toStorageError(err, 'create the document folder', dir)
    }
    await this.syncDocsDir(dir)
    return made
  }

  /** Makes the entry of the document folder `dir` durable (an fsync of the documents folder, shared). */
  private async syncDocsDir(dir: string): Promise<void> {
    try {
      await this.dirSyncs.sync(this.dir)
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

  private historyPath(docId: string, name: string): string {
    return join(this.dir, docId, `hist-${name}.bin`)
  }

  private segmentPath(docId: string, gen: number): string {
    return join(this.dir, docId, `log-${gen}.bin`)
  }

  private check(): void {
    if (this.closing) throw closedError('The document store')
  }
}
