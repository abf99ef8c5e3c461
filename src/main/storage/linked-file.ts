/**
 * LinkedFile: a user's text file and the document that holds it. The one implementation of "a document
 * linked to a file", used by the app (hosts/app-service.ts), the CLI (cli/peer.ts) and the tests.
 * Opening a file reopens its document (found through FileLinks by the file's real path) with its
 * history; Save and Save As write the text back atomically in the file's own encoding and line endings;
 * and a watcher merges changes that other programs make to the file into the document as ops by a
 * "disk" author, which peers then receive like any edit, so nothing typed meanwhile is lost (see
 * disk-merge.ts).
 *
 * The document is reached through `LinkedDocs`: a DurableDoc on a DocStore (`LinkedFile.open`, for tests
 * and benchmarks) or the node's DocSession (hosts/workspace-files.ts), so that imports and merges are
 * broadcast to peers.
 *
 * The base is the text last loaded from or saved to the file, kept in the data dir (FileLinks) with the
 * hash of those bytes, the file's format and the base's version. Reopening a linked file:
 *   1. its hash is a base's: the file is as Meshpad left it. The document stays as it is (unsaved edits
 *      included) and the file keeps the recorded format; ops of the base that the document lacks (a
 *      merge cut short by a crash) are applied.
 *   2. else, if the document's text encoded in the recorded format (or the one the bytes announce, with
 *      CRLF or not) is exactly the file's bytes, they are in step: nothing changes but the base.
 *   3. else another program changed the file: a three-way merge from the base, and the file's format
 *      from then on. Without a base (lost, damaged, or from before bases were kept) the document itself
 *      is the base: the file wins, as a diff.
 * The format is never guessed again from the bytes of a file Meshpad wrote: a document holding "\r\n"
 * in an LF file would otherwise be read back as CRLF and gain a \r at every save.
 *
 * NUL: a never-seen file with NUL bytes is refused as binary before anything is made; a linked file is
 * decoded with NUL allowed, and one that cannot be decoded at all is reported and left out of the
 * document, which still opens: a user is never locked out of their own document.
 *
 * First open, atomic: the documents that exist are recorded (FileLinks.intendToCreate), the document is
 * made, linked, and then the file's text imported; the open returns once the import is applied, not
 * durable (storage README, durability contract, point 5). A crash before the link leaves a fresh empty document
 * that the next open adopts (it is new since the record, linked to nothing, without text ops); a crash
 * after it leaves an empty linked document, which gets the file's text at the next open by rule 3.
 *
 * Crash safety of the base: Save writes its base beside the current one, then the file, then renames
 * the base over the current one; a merge writes its base (with the disk author's ops) before applying
 * them. Either way, after a crash the base matching the file's hash is found, and its ops are in the
 * document or applied by rule 1.
 *
 * Temp files: opening a file removes its own leftover `.<name>.<8 hex>.meshpad-tmp` beside it (a Save
 * killed between write and rename), only those older than this process, never another's in progress.
 *
 * Open, save, Save As and disk checks run one at a time, in order.
 */
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import type { TextChange, TextDoc, Utf8Bytes, VersionVector } from '../../shared/crdt'
import { removeStaleTemps } from './atomic-write'
import { diskChangeBatch } from './disk-merge'
import type { DocStore } from './doc-store'
import { DurableDoc, fromOps, newReplicaId, type DurableDocOptions } from './durable-doc'
import { StorageError } from './errors'
import type { FileBase, FileLinks } from './file-links'
import { FileWatcher } from './file-watcher'
import { nodeFs, type StorageFs } from './fs-layer'
import { hashBytes, readFileBytes, writeTextFile } from './text-file'
import {
  DEFAULT_TEXT_FORMAT,
  decodeAs,
  decodeText,
  encodeText,
  savedFormat,
  sniffEncoding,
  utf8Body,
  type TextFormat,
} from './text-format'

export interface ExternalChange {
  /** The disk author's ops, already durable (and, over a DocSession, already sent to peers). */
  readonly batch: Uint8Array
  /** The visible changes they made to the document. */
  readonly changes: TextChange[]
}

/** What LinkedFile needs of a document (an adapter over a DurableDoc or a DocSession). */
export interface LinkedDoc {
  readonly docId: string
  /** Characters in the text; cheap. */
  readonly length: number
  text(): string
  version(): VersionVector
  /** Every text op as one batch, for a local fork (the base). */
  allTextOps(): Uint8Array
  /** False for a viewer: the file's changes cannot become its ops. */
  readonly editable: boolean
  /**
   * A local insert (the import of a file): applied before it returns, then made durable and passed on;
   * the promise settles once it is durable. `utf8`: the text's UTF-8 as read from the file, which its
   * record can be made of (Utf8Bytes).
   */
  insert(index: number, text: string, utf8?: Utf8Bytes): Promise<void>
  /** Ops made on this device (a disk merge): applied, durable, then passed on. */
  applyBatch(batch: Uint8Array): Promise<TextChange[]>
  /**
   * A replica ID of this device for such ops (a node binds it to the device's key, and stores that
   * binding before resolving: a merge cut short by a crash applies its ops at the next start): the
   * last merge's if `fits` says every op of it is in this merge's base, else a new one.
   */
  diskReplica(fits: (replica: string) => boolean): Promise<string>
  /** A merge applied its ops of `replica` (from diskReplica): the next merge may take it up. */
  diskMerged(replica: string): void
}

/** Where the documents come from: a DocStore, or the node's Workspace. */
export interface LinkedDocs<D> {
  view(doc: D): LinkedDoc
  /** The document, or null if this device holds no such document. */
  open(docId: string): Promise<D | null>
  /** A new, empty document. */
  create(title: string): Promise<D>
  /** Every document held. */
  ids(): Promise<readonly string[]>
  /**
   * `doc` is new since an interrupted first open began, linked to nothing and holds no text: true if it
   * is one that first open made (this device's alone), after completing what the crash cut short.
   */
  adopt(doc: D, title: string): Promise<boolean>
  /** The LinkedFile is done with a document it opened (closes a DurableDoc; a session stays open). */
  release(doc: D): Promise<void>
}

/** What the file holds, as document text, and the document's version when it held exactly that. */
export interface FileText {
  readonly text: string
  /** Null when not known (the document may still hold that text: compare). */
  readonly version: VersionVector | null
}

export interface LinkedFileOptions {
  readonly path: string
  readonly links: FileLinks
  readonly fs?: StorageFs
  /** Watch the file for external changes (default true). */
  readonly watch?: boolean
  readonly debounceMs?: number
  /** A missing file is no error: the document is linked to the path, and Save creates the file. */
  readonly allowMissing?: boolean
  /** Leftover temp files of this file older than this (ms since the epoch) are removed; default: this process's start. */
  readonly staleTempsBefore?: number
  readonly onExternalChange?: (change: ExternalChange) => void
  /** Problems found in the background: the file was deleted or renamed, a merge could not be stored… */
  readonly onError?: (error: StorageError) => void
  /** Called whenever what the file holds is known anew: opened, saved, merged. */
  readonly onFileText?: (file: FileText) => void
}

export interface StoreLinkedFileOptions extends LinkedFileOptions {
  readonly store: DocStore
  readonly docOptions?: DurableDocOptions
}

/**
 * How a base's state is stored, in its first byte: every op of the document as one batch
 * (`changesSince({})`), which is ~20× cheaper to produce than `TextDoc.save()` on big files (no
 * deflate) and enough for a fork, since a fork needs no pending ops; or no state at all ("detached": the
 * file holds another document's text, after the CLI's `join` switched the file to the joined document).
 */
const BASE_OPS = 1
const BASE_DETACHED = 2

export class LinkedFile<D = DurableDoc> {
  private current: D
  private view: LinkedDoc
  private readonly docs: LinkedDocs<D>
  private readonly options: LinkedFileOptions
  private readonly fs: StorageFs
  private realPath: string
  private fileFormat: TextFormat = DEFAULT_TEXT_FORMAT
  /** Hash of the bytes of the base; a file with this hash holds nothing new. Null: no base. */
  private baseHash: string | null = null
  /** A base that could not be written to the data dir yet; it wins over the stored one. */
  private unsavedBase: FileBase | null = null
  private watcher: FileWatcher | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private missing = false
  private closing: Promise<void> | null = null

  private constructor(
    options: LinkedFileOptions,
    fs: StorageFs,
    docs: LinkedDocs<D>,
    doc: D,
    realPath: string,
  ) {
    this.options = options
    this.fs = fs
    this.docs = docs
    this.current = doc
    this.view = docs.view(doc)
    this.realPath = realPath
  }

  /** Opens a file with its document in a DocStore (a DurableDoc, closed with the LinkedFile). */
  static open(options: StoreLinkedFileOptions): Promise<LinkedFile<DurableDoc>> {
    return LinkedFile.openWith(storeDocs(options.store, options.docOptions), options)
  }

  /** Opens a file with its document: reopened if the file is linked, else made from the file's text. */
  static async openWith<D>(docs: LinkedDocs<D>, options: LinkedFileOptions): Promise<LinkedFile<D>> {
    const fs = options.fs ?? nodeFs
    const { realPath, bytes } = await readDisk(fs, options.path, options.allowMissing === true)
    await removeStaleTemps(
      fs,
      dirname(realPath),
      basename(realPath),
      options.staleTempsBefore ?? performance.timeOrigin,
    )
    const known = await options.links.docIdFor(realPath)
    const linkedDoc = known === undefined ? null : await docs.open(known)
    if (linkedDoc !== null) {
      const linked = new LinkedFile(options, fs, docs, linkedDoc, realPath)
      await linked.settle(() => linked.reopen(bytes))
      return linked
    }
    // Never linked (or its document is gone): refused here if it is not text, before anything is made.
    // A file linked to a document that is gone was written by Meshpad: its NULs are text.
    const allowNul = known !== undefined
    const decoded = bytes && { ...decodeText(bytes, realPath, { allowNul }), hash: hashBytes(bytes) }
    const utf8 = bytes && decoded ? importBytes(bytes, decoded.format) : null
    const doc = await firstDoc(docs, options.links, realPath)
    const linked = new LinkedFile(options, fs, docs, doc, realPath)
    await linked.settle(async () => {
      await options.links.link(realPath, linked.view.docId)
      if (decoded) linked.importFile(decoded, utf8)
    })
    return linked
  }

  /**
   * Links a document that has no file yet to `path` by saving it there (the app's first Save As).
   * Watches the file from then on unless `watch` is false.
   */
  static async saveNew<D>(
    docs: LinkedDocs<D>,
    doc: D,
    options: LinkedFileOptions,
    format: TextFormat = DEFAULT_TEXT_FORMAT,
  ): Promise<LinkedFile<D>> {
    const fs = options.fs ?? nodeFs
    // No path yet, so that the write links the document to the file's real path.
    const linked = new LinkedFile(options, fs, docs, doc, '')
    linked.missing = true
    await linked.enqueue(() => linked.writeTo(options.path, format, true))
    if (options.watch !== false) linked.watch()
    return linked
  }

  get doc(): D {
    return this.current
  }

  get docId(): string {
    return this.view.docId
  }

  get path(): string {
    return this.realPath
  }

  get format(): TextFormat {
    return this.fileFormat
  }

  /** Writes the document to its file. Rejects with a StorageError; the document is untouched either way. */
  save(): Promise<void> {
    return this.enqueue(() => this.writeTo(this.realPath, this.fileFormat, true))
  }

  /** Writes the document to another file, which it is linked to from now on (the old file no longer). */
  saveAs(path: string, format: TextFormat = this.fileFormat): Promise<void> {
    return this.enqueue(() => this.writeTo(path, format, true))
  }

  /** Writes a copy of the document to `path`, in the file's format; the link stays (the CLI's `save <path>`). */
  saveCopy(path: string): Promise<void> {
    return this.enqueue(async () => {
      const target = await this.fs.realpath(path).catch(() => resolve(path))
      await this.writeTo(path, this.fileFormat, target === this.realPath)
    })
  }

  /**
   * The file stands for another document from now on (the CLI's `join`). It still holds the previous
   * document's text, which is not merged into the new one: its hash is recorded as a detached base, so
   * reopening the unchanged file keeps the document as it is, and the next Save writes it.
   */
  relink(doc: D): Promise<void> {
    const view = this.docs.view(doc)
    const previous = this.current
    if (view.docId === this.view.docId) return Promise.resolve()
    // At once, so that what follows (the next command, a save) is about the new document.
    this.current = doc
    this.view = view
    this.baseHash = null
    this.unsavedBase = null
    return this.enqueue(async () => {
      await this.options.links.link(this.realPath, view.docId)
      try {
        const hash = hashBytes((await readFileBytes(this.fs, this.realPath)).bytes)
        if (this.view === view && this.baseHash === null) {
          this.storeBase({ hash, format: this.fileFormat, version: {}, state: tagged(BASE_DETACHED) })
        }
      } catch {
        // No file yet: nothing to keep apart.
      }
      if (previous !== doc) await this.docs.release(previous)
    })
  }

  /** Reads the file and merges any external change. The watcher calls this; so can a "reload" command. */
  checkDisk(): Promise<void> {
    return this.enqueue(() => this.mergeFromDisk())
  }

  /** Stops watching, waits for queued work, and releases the document. Idempotent. */
  close(): Promise<void> {
    this.watcher?.close()
    this.watcher = null
    this.closing ??= (async () => {
      await this.queue.catch(() => undefined)
      await this.docs.release(this.current)
    })().catch((err: unknown) => {
      this.closing = null
      throw err
    })
    return this.closing
  }

  /** True while the watcher is running (for tests and diagnostics). */
  get watching(): boolean {
    return this.watcher !== null && !this.watcher.closed
  }

  /** Runs the open's work in the queue; on failure releases the document and rethrows. */
  private async settle(task: () => Promise<void>): Promise<void> {
    try {
      await this.enqueue(task)
      if (this.options.watch !== false) this.watch()
    } catch (err) {
      await this.docs.release(this.current).catch(() => undefined)
      throw err
    }
  }

  private watch(): void {
    this.watcher?.close()
    this.watcher = null
    try {
      this.watcher = new FileWatcher(this.realPath, {
        ...(this.options.debounceMs !== undefined ? { debounceMs: this.options.debounceMs } : {}),
        onChange: () => void this.checkDisk().catch((err: unknown) => this.report(err)),
        onError: (err) => this.report(err),
      })
    } catch (err) {
      this.report(err) // the document still works; only external changes go unnoticed
    }
  }

  /** First open: the new (or adopted, empty) document gets the file's text (and its UTF-8, if read so). */
  private importFile(file: { text: string; format: TextFormat; hash: string }, utf8: Utf8Bytes | null): void {
    const view = this.view
    // The open does not wait for the import to be on disk (for 10 MB, a write and an fsync of 10 MB):
    // the file holds the text meanwhile, and a crash before the write is repaired at the next open, by
    // rule 1 (the base's ops) or rule 3 (the file as a diff). Later work waits for it in the queue.
    if (file.text.length > 0 && view.length === 0) {
      const durable = view.insert(0, file.text, utf8 ?? undefined)
      void this.enqueue(() => durable.catch((err: unknown) => this.report(err)))
    }
    this.fileFormat = file.format
    this.baseHash = file.hash
    // The import is the whole document, so its ops serve as the base as they are: written after their
    // tag, never copied; tagged whole (a copy of the whole text) only if a merge reads the base.
    const version = view.version()
    const ops = view.allTextOps()
    let state: Uint8Array | null = null
    this.storeBase({
      hash: file.hash,
      format: file.format,
      version,
      get state() {
        return (state ??= tagged(BASE_OPS, ops))
      },
      stateParts: [Uint8Array.of(BASE_OPS), ops],
    })
    this.tellFileText({ text: file.text, version })
  }

  /** Reopening a linked file (rules 1–3 in the header); `bytes` null: the file does not exist (yet). */
  private async reopen(bytes: Uint8Array | null): Promise<void> {
    let bases: { current: FileBase | null; next: FileBase | null } = { current: null, next: null }
    try {
      bases = await this.options.links.readBases(this.view.docId)
    } catch (err) {
      this.report(err) // an unreadable base costs the merge its base, not the open
    }
    const stored = bases.current ?? bases.next
    if (bytes === null) {
      this.missing = true
      this.fileFormat = stored?.format ?? DEFAULT_TEXT_FORMAT
      this.baseHash = stored?.hash ?? null
      return
    }
    const hash = hashBytes(bytes)
    const docId = this.view.docId
    const match = bases.next?.hash === hash ? bases.next : bases.current?.hash === hash ? bases.current : null
    if (bases.next && match === bases.next) {
      // A Save was cut short after writing the file: finish it.
      await this.options.links.promoteNextBase(docId).catch((err: unknown) => this.report(err))
    } else if (bases.next) {
      await this.options.links.discardNextBase(docId)
    }
    if (match) return this.reopenUnchanged(match, bytes, hash)
    const text = this.view.text()
    const format = inStepFormat(text, bytes, [bases.current?.format, bases.next?.format])
    if (format) return this.inStep(text, format, hash)
    const decoded = this.decodeChanged(bytes)
    if (!decoded) {
      this.fileFormat = stored?.format ?? DEFAULT_TEXT_FORMAT
      this.baseHash = stored?.hash ?? null
      return
    }
    await this.merge(decoded, hash, bases.current ?? bases.next)
  }

  /** Rule 1: the file is as Meshpad left it. */
  private async reopenUnchanged(base: FileBase, bytes: Uint8Array, hash: string): Promise<void> {
    await this.catchUpWith(base)
    this.baseHash = hash
    const detached = base.state[0] === BASE_DETACHED
    // A base from before formats were kept: the bytes tell, as they did then.
    let format = base.format
    if (!format) {
      try {
        format = decodeText(bytes, this.realPath, { allowNul: true }).format
      } catch {
        format = DEFAULT_TEXT_FORMAT
      }
    }
    this.fileFormat = format
    if (this.options.onFileText) {
      try {
        const text = decodeAs(bytes, format, this.realPath)
        this.tellFileText({ text, version: detached ? null : (base.version ?? null) })
      } catch {
        // Only the saved/unsaved display needs it; it then says unsaved.
      }
    }
  }

  /** Rule 2: the document's text is the file's, in `format`. */
  private inStep(text: string, format: TextFormat, hash: string): void {
    const view = this.view
    this.fileFormat = format
    this.baseHash = hash
    const version = view.version()
    this.storeBase({ hash, format, version, state: tagged(BASE_OPS, view.allTextOps()) })
    this.tellFileText({ text, version })
  }

  /** The file's text after another program changed it, or null (reported) if it cannot be decoded. */
  private decodeChanged(bytes: Uint8Array): { text: string; format: TextFormat } | null {
    try {
      // A linked file's NULs are the document's characters (see text-format.ts).
      return decodeText(bytes, this.realPath, { allowNul: true })
    } catch (err) {
      if (!(err instanceof StorageError)) throw err
      this.report(
        new StorageError(
          err.code,
          err.path,
          `${err.message} The document was left as it is; saving it will replace the file.`,
          { cause: err },
        ),
      )
      return null
    }
  }

  /** Applies the ops of a base that the document lacks: a merge that a crash cut short after its base was written. */
  private async catchUpWith(base: FileBase): Promise<void> {
    if (base.state[0] !== BASE_OPS || !base.version || covers(this.view.version(), base.version)) return
    // No op is made here: the replica only names the throwaway copy the base's ops are read into.
    const fork = loadBase(base.state, newReplicaId())
    if (!fork || !this.view.editable) return
    await this.view.applyBatch(fork.changesSince(this.view.version()))
  }

  private async writeTo(path: string, format: TextFormat, link: boolean): Promise<void> {
    const view = this.view
    const docId = view.docId
    // Text, version and state are taken together, so the base is exactly what the file will hold.
    const text = view.text()
    const version = view.version()
    const fileFormat = savedFormat(text, format)
    const bytes = encodeText(text, fileFormat)
    if (!link) {
      await writeTextFile(this.fs, path, bytes)
      return
    }
    const hash = hashBytes(bytes)
    const base: FileBase = { hash, format: fileFormat, version, state: tagged(BASE_OPS, view.allTextOps()) }
    await this.options.links.writeNextBase(docId, base)
    try {
      await writeTextFile(this.fs, path, bytes)
    } catch (err) {
      await this.options.links.discardNextBase(docId)
      throw err
    }
    this.baseHash = hash
    this.fileFormat = fileFormat
    this.unsavedBase = null
    this.missing = false
    // The file is written: from here on only the bookkeeping can fail, and the save stands.
    try {
      await this.options.links.promoteNextBase(docId)
    } catch (err) {
      this.unsavedBase = base // still found as the Save's base on reopen; written again if need be
      this.report(err)
    }
    const realPath = await this.fs.realpath(path).catch(() => resolve(path))
    if (realPath !== this.realPath) {
      await this.options.links.link(realPath, docId, this.realPath || undefined)
      this.realPath = realPath
      if (this.watcher) this.watch()
    }
    this.tellFileText({ text, version })
  }

  private async mergeFromDisk(): Promise<void> {
    if (this.closing) return
    let bytes: Uint8Array
    try {
      bytes = (await readFileBytes(this.fs, this.realPath)).bytes
    } catch (err) {
      if (err instanceof StorageError && err.code === 'NOT_FOUND') {
        // Reported once; the document stays as it is, and a Save recreates the file.
        if (!this.missing) this.report(err)
        this.missing = true
        return
      }
      throw err
    }
    this.missing = false
    const hash = hashBytes(bytes)
    if (hash === this.baseHash) return
    const text = this.view.text()
    const format = inStepFormat(text, bytes, [this.fileFormat])
    if (format) return this.inStep(text, format, hash)
    const decoded = this.decodeChanged(bytes)
    if (decoded) await this.merge(decoded, hash, await this.baseFor(this.baseHash))
  }

  /** The stored base whose hash is `hash` (the one in memory first), else the stored one. */
  private async baseFor(hash: string | null): Promise<FileBase | null> {
    if (this.unsavedBase && this.unsavedBase.hash === hash) return this.unsavedBase
    const { current, next } = await this.options.links.readBases(this.view.docId)
    if (next && next.hash === hash) return next
    return current ?? next
  }

  /** Rule 3, three-way merge: the change from the base to the file, applied on top of the live document. */
  private async merge(
    file: { text: string; format: TextFormat },
    hash: string,
    base: FileBase | null,
  ): Promise<void> {
    const view = this.view
    if (base && base.state[0] === BASE_DETACHED) {
      // The file held another document's text; it changed, and is still not this document's.
      this.fileFormat = file.format
      this.storeBase({ hash, format: file.format, version: {}, state: tagged(BASE_DETACHED) })
      return
    }
    if (!view.editable) {
      this.report(
        new StorageError(
          'READ_ONLY',
          this.realPath,
          `${this.realPath} was changed by another program, but this device is a viewer of its document, ` +
            'so the change cannot be merged. The document was left as it is.',
        ),
      )
      return
    }
    // Without a stored base (lost or damaged), the document itself is the base: the file wins.
    const ops = base && base.state[0] === BASE_OPS ? base : null
    const live = view.version()
    const replica = await view.diskReplica((r) => !ops || (ops.version?.[r] ?? 0) === (live[r] ?? 0))
    const fork = (ops && loadBase(ops.state, replica)) ?? fromOps(view.allTextOps(), replica)
    const batch = diskChangeBatch(fork, file.text, view.version())
    const next: FileBase = {
      hash,
      format: file.format,
      version: fork.version(),
      state: tagged(BASE_OPS, fork.changesSince({})),
    }
    // The base first: after a crash before the ops are stored, reopening finds the file matching this
    // base and applies the ops the document lacks (catchUpWith). The other order would merge twice.
    try {
      await this.options.links.writeBase(view.docId, next)
      this.unsavedBase = null
    } catch (err) {
      this.unsavedBase = next
      this.report(err)
    }
    const changes = await view.applyBatch(batch)
    view.diskMerged(replica)
    this.fileFormat = file.format
    this.baseHash = hash
    this.tellFileText({ text: file.text, version: null })
    if (changes.length > 0) this.options.onExternalChange?.({ batch, changes })
  }

  /** Records a new base: its hash at once, its state in the data dir in the background (queued). */
  private storeBase(base: FileBase): void {
    this.baseHash = base.hash
    this.unsavedBase = base
    const docId = this.view.docId
    void this.enqueue(async () => {
      if (this.unsavedBase !== base) return // a newer base is on its way
      try {
        await this.options.links.writeBase(docId, base)
        if (this.unsavedBase === base) this.unsavedBase = null
      } catch (err) {
        this.report(err)
      }
    })
  }

  private tellFileText(file: FileText): void {
    this.options.onFileText?.(file)
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task)
    this.queue = run.catch(() => undefined)
    return run
  }

  private report(err: unknown): void {
    if (err instanceof StorageError) this.options.onError?.(err)
    else throw err
  }
}

/** The documents of a DocStore, as DurableDocs that the LinkedFile opens and closes. */
export function storeDocs(store: DocStore, docOptions?: DurableDocOptions): LinkedDocs<DurableDoc> {
  return {
    view: (doc) => ({
      docId: doc.docId,
      get length() {
        return doc.text.length
      },
      text: () => doc.text.toString(),
      version: () => doc.text.version(),
      allTextOps: () => doc.allTextOps(),
      editable: true,
      insert: async (index, text, utf8) => {
        await doc.insert(index, text, utf8)
      },
      applyBatch: (batch) => doc.applyText(batch),
      diskReplica: () => Promise.resolve(newReplicaId()),
      diskMerged: () => undefined,
    }),
    open: (docId) => DurableDoc.open(store, docId, docOptions),
    create: () => DurableDoc.open(store, randomBytes(12).toString('base64url'), docOptions),
    ids: () => store.list(),
    adopt: async () => true,
    release: (doc) => doc.close(),
  }
}

/**
 * Bytes left free before a file's bytes as read: a first open's import is recorded in the file's own
 * buffer, its record's head (a few dozen bytes) written there (Utf8Bytes).
 */
const IMPORT_HEAD_ROOM = 256

/** The file's bytes as the UTF-8 of its text, with the room before them, or null if they are not that. */
function importBytes(bytes: Uint8Array, format: TextFormat): Utf8Bytes | null {
  const body = utf8Body(bytes, format)
  return body && { bytes: body, room: IMPORT_HEAD_ROOM + (body.byteOffset - bytes.byteOffset) }
}

/** The file's real path and bytes; a missing file, if allowed, as null at the path it will have. */
async function readDisk(
  fs: StorageFs,
  path: string,
  allowMissing: boolean,
): Promise<{ realPath: string; bytes: Uint8Array | null }> {
  try {
    return await readFileBytes(fs, path, IMPORT_HEAD_ROOM)
  } catch (err) {
    if (!allowMissing || !(err instanceof StorageError) || err.code !== 'NOT_FOUND') throw err
    const absolute = resolve(path)
    const dir = await fs.realpath(dirname(absolute)).catch(() => dirname(absolute))
    return { realPath: join(dir, basename(absolute)), bytes: null }
  }
}

/**
 * The document for a file opened for the first time: the one an interrupted first open made, if any
 * (see the header), else a new one, made after recording which documents exist.
 */
async function firstDoc<D>(docs: LinkedDocs<D>, links: FileLinks, realPath: string): Promise<D> {
  const title = basename(realPath)
  const before = await links.creatingFor(realPath)
  if (before !== undefined) {
    const known = new Set(before)
    const linked = await links.linkedDocIds()
    for (const docId of await docs.ids()) {
      if (known.has(docId) || linked.has(docId)) continue
      const doc = await docs.open(docId).catch(() => null)
      if (doc === null) continue
      const view = docs.view(doc)
      if (view.length === 0 && Object.keys(view.version()).length === 0 && (await docs.adopt(doc, title))) {
        return doc
      }
      await docs.release(doc)
    }
  }
  await links.intendToCreate(realPath, await docs.ids())
  return docs.create(title)
}

/**
 * The format in which `text` is exactly `bytes`, trying the recorded formats first, then the encoding
 * the bytes announce with CRLF and without; or null.
 */
function inStepFormat(
  text: string,
  bytes: Uint8Array,
  recorded: readonly (TextFormat | undefined)[],
): TextFormat | null {
  const encoding = sniffEncoding(bytes)
  const candidates: TextFormat[] = []
  for (const f of [...recorded, { encoding, eol: 'crlf' } as const, { encoding, eol: 'lf' } as const]) {
    if (f && !candidates.some((c) => c.encoding === f.encoding && c.eol === f.eol)) candidates.push(f)
  }
  for (const f of candidates) {
    // CRLF can only match if the bytes have a CR; most files have none.
    if (f.eol === 'crlf' && text.includes('\n') && !bytes.includes(13)) continue
    const encoded = encodeText(text, f)
    if (encoded.byteLength === bytes.byteLength && Buffer.compare(encoded, bytes) === 0) {
      return savedFormat(text, f)
    }
  }
  return null
}

/** Every op that `b` counts is in `a`. */
function covers(a: VersionVector, b: VersionVector): boolean {
  for (const r in b) if ((a[r] ?? 0) < b[r]!) return false
  return true
}

function tagged(kind: number, state?: Uint8Array): Uint8Array {
  const out = new Uint8Array((state?.byteLength ?? 0) + 1)
  out[0] = kind
  if (state) out.set(state, 1)
  return out
}

/**
 * A fork at the base under a fresh disk replica ID, so its ops can never collide with earlier ones.
 * Null if the stored base is in a form this version does not know; the merge then falls back.
 */
function loadBase(state: Uint8Array, replica: string): TextDoc | null {
  if (state[0] !== BASE_OPS) return null
  try {
    return fromOps(state.subarray(1), replica)
  } catch {
    return null
  }
}
