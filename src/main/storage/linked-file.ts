/**
 * LinkedFile: a user's text file and the document that holds it. Opening a file reopens its document
 * (found through FileLinks by the file's real path) with its history; Save and Save As write the text
 * back atomically in the file's own encoding and line endings; and a watcher merges changes that other
 * programs make to the file into the document as ops by a "disk" author, which peers then receive like
 * any edit, so nothing typed meanwhile is lost (see disk-merge.ts).
 *
 * The base is the text last loaded from or saved to the file. Meshpad's own saves are recognised by
 * their hash and not merged back. Open, save, Save As and disk checks run one at a time, in order.
 */
import { randomBytes } from 'node:crypto'
import { TextDoc, type TextChange } from '../../shared/crdt'
import { diskChangeBatch } from './disk-merge'
import type { DocStore } from './doc-store'
import { DurableDoc, fromOps, newReplicaId, type DurableDocOptions } from './durable-doc'
import { StorageError } from './errors'
import type { FileLinks } from './file-links'
import { FileWatcher } from './file-watcher'
import { nodeFs, type StorageFs } from './fs-layer'
import { hashBytes, readTextFile, writeTextFile, type TextFileContent } from './text-file'
import { encodeText, type TextFormat } from './text-format'

export interface ExternalChange {
  /** The disk author's ops, already durable: broadcast them to peers. */
  readonly batch: Uint8Array
  /** The visible changes they made to the document. */
  readonly changes: TextChange[]
}

export interface LinkedFileOptions {
  readonly path: string
  readonly store: DocStore
  readonly links: FileLinks
  readonly fs?: StorageFs
  /** Watch the file for external changes (default true). */
  readonly watch?: boolean
  readonly debounceMs?: number
  readonly docOptions?: DurableDocOptions
  readonly onExternalChange?: (change: ExternalChange) => void
  /** Problems found in the background: the file was deleted or renamed, a merge could not be stored… */
  readonly onError?: (error: StorageError) => void
}

/**
 * How a base's state is stored: every op of the document as one batch (`changesSince({})`), which is
 * ~20× cheaper to produce than `TextDoc.save()` on big files (no deflate) and enough for a fork, since a
 * fork needs no pending ops. The tag byte leaves room for other forms.
 */
const BASE_OPS = 1

export class LinkedFile {
  readonly doc: DurableDoc
  private readonly options: LinkedFileOptions
  private readonly fs: StorageFs
  private realPath: string
  private fileFormat: TextFormat
  /** Hash of the bytes of the base; a file with this hash holds nothing new. */
  private baseHash: string
  /** A base that could not be written to the data dir yet; it wins over the stored one. */
  private unsavedBase: Uint8Array | null = null
  private watcher: FileWatcher | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private missing = false
  private closing: Promise<void> | null = null

  private constructor(options: LinkedFileOptions, fs: StorageFs, doc: DurableDoc, file: TextFileContent) {
    this.options = options
    this.fs = fs
    this.doc = doc
    this.realPath = file.realPath
    this.fileFormat = file.format
    this.baseHash = file.hash
  }

  static async open(options: LinkedFileOptions): Promise<LinkedFile> {
    const fs = options.fs ?? nodeFs
    const file = await readTextFile(fs, options.path)
    const known = await options.links.docIdFor(file.realPath)
    const docId = known ?? randomBytes(12).toString('base64url')
    if (known === undefined) {
      // Link first: after a crash before the import, the empty linked document gets the text as a disk change.
      await options.links.link(file.realPath, docId)
    }
    const doc = await DurableDoc.open(options.store, docId, options.docOptions)
    const linked = new LinkedFile(options, fs, doc, file)
    try {
      if (known === undefined && doc.text.length === 0) {
        // The import batch is the whole document, so it serves as the base as it is.
        const batch = file.text.length > 0 ? await doc.insert(0, file.text) : doc.allTextOps()
        linked.storeBase(file.hash, BASE_OPS, batch)
      } else {
        await linked.reconcile(file)
      }
      if (options.watch !== false) linked.watch()
    } catch (err) {
      await doc.close().catch(() => undefined)
      throw err
    }
    return linked
  }

  get path(): string {
    return this.realPath
  }

  get format(): TextFormat {
    return this.fileFormat
  }

  /** Writes the document to its file. Rejects with a StorageError; the document is untouched either way. */
  save(): Promise<void> {
    return this.enqueue(() => this.writeTo(this.realPath, this.fileFormat))
  }

  /** Writes the document to another file, which it is linked to from now on (the old file no longer). */
  saveAs(path: string, format: TextFormat = this.fileFormat): Promise<void> {
    return this.enqueue(() => this.writeTo(path, format))
  }

  /** Reads the file and merges any external change. The watcher calls this; so can a "reload" command. */
  checkDisk(): Promise<void> {
    return this.enqueue(() => this.mergeFromDisk())
  }

  /** Stops watching, waits for queued work, and closes the document. Idempotent. */
  close(): Promise<void> {
    this.watcher?.close()
    this.watcher = null
    this.closing ??= (async () => {
      await this.queue.catch(() => undefined)
      await this.doc.close()
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

  private watch(): void {
    this.watcher?.close()
    this.watcher = new FileWatcher(this.realPath, {
      debounceMs: this.options.debounceMs,
      onChange: () => void this.checkDisk().catch((err: unknown) => this.report(err)),
      onError: (err) => this.report(err),
    })
  }

  private async writeTo(path: string, format: TextFormat): Promise<void> {
    // Text and state are taken together, so the base is exactly what the file will hold.
    const text = this.doc.text.toString()
    const state = this.doc.allTextOps()
    const bytes = encodeText(text, format)
    await writeTextFile(this.fs, path, bytes)
    const realPath = await this.fs.realpath(path).catch(() => path)
    if (realPath !== this.realPath) {
      await this.options.links.link(realPath, this.doc.docId, this.realPath)
      this.realPath = realPath
      if (this.watcher) this.watch()
    }
    this.fileFormat = format
    this.missing = false
    this.storeBase(hashBytes(bytes), BASE_OPS, state)
  }

  /** On open: the file may have changed while Meshpad was closed, and the document may hold unsaved edits. */
  private async reconcile(file: TextFileContent): Promise<void> {
    if (file.text !== this.doc.text.toString()) return this.merge(file)
    // In step. After a crash between writing the file and its base the stored base is stale: renew it, in
    // the background (reading a big base must not slow the open), and only if nothing was edited meanwhile.
    // The closure keeps the hash and a version, not the file's text, which would double the memory.
    const hash = file.hash
    const version = JSON.stringify(this.doc.text.version())
    void this.enqueue(async () => {
      const stored = await this.options.links.readBase(this.doc.docId).catch(() => null)
      if (stored?.hash !== hash && JSON.stringify(this.doc.text.version()) === version) {
        this.storeBase(hash, BASE_OPS, this.doc.allTextOps())
      }
    }).catch((err: unknown) => this.report(err))
  }

  private async mergeFromDisk(): Promise<void> {
    if (this.closing) return
    let file: TextFileContent
    try {
      file = await readTextFile(this.fs, this.realPath)
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
    if (file.hash === this.baseHash) return
    if (file.text === this.doc.text.toString()) {
      this.fileFormat = file.format
      this.storeBase(file.hash, BASE_OPS, this.doc.allTextOps())
      return
    }
    await this.merge(file)
  }

  /** Three-way merge: the change from the base to the file, applied on top of the live document. */
  private async merge(file: TextFileContent): Promise<void> {
    const stored = this.unsavedBase ? null : await this.options.links.readBase(this.doc.docId)
    const baseBytes = this.unsavedBase ?? stored?.state ?? null
    if (stored && stored.hash === file.hash) {
      this.baseHash = file.hash // the file is as Meshpad left it; the document just has unsaved edits
      return
    }
    // Without a stored base (lost or damaged), the document itself is the base: the file wins.
    const base = (baseBytes && loadBase(baseBytes)) ?? fromOps(this.doc.allTextOps(), newReplicaId())
    const batch = diskChangeBatch(base, file.text, this.doc.text.version())
    const changes = await this.doc.applyText(batch)
    this.fileFormat = file.format
    this.storeBase(file.hash, BASE_OPS, base.changesSince({}))
    if (changes.length > 0) this.options.onExternalChange?.({ batch, changes })
  }

  /** Records a new base: its hash at once, its state in the data dir in the background (queued). */
  private storeBase(hash: string, kind: number, state: Uint8Array): void {
    this.baseHash = hash
    const tagged = new Uint8Array(state.byteLength + 1)
    tagged[0] = kind
    tagged.set(state, 1)
    this.unsavedBase = tagged
    void this.enqueue(async () => {
      if (this.unsavedBase !== tagged) return // a newer base is on its way
      try {
        await this.options.links.writeBase(this.doc.docId, { hash, state: tagged })
        if (this.unsavedBase === tagged) this.unsavedBase = null
      } catch (err) {
        this.report(err)
      }
    })
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

/**
 * A fork at the base under a fresh disk replica ID, so its ops can never collide with earlier ones.
 * Null if the stored base is in a form this version does not know; the merge then falls back.
 */
function loadBase(tagged: Uint8Array): TextDoc | null {
  if (tagged[0] !== BASE_OPS) return null
  try {
    return fromOps(tagged.subarray(1), newReplicaId())
  } catch {
    return null
  }
}
