/**
 * The document store contract: where a document's bytes live between process starts. Records and
 * snapshots are opaque bytes here (the CRDT encodes them); the store only promises order, integrity and
 * durability. `FileStore` keeps them in a data dir, `MemoryStore` in memory for fast tests; both pass
 * the one conformance suite in test/main/storage/doc-store-conformance.ts.
 */

export interface LoadedDoc {
  /** The newest valid snapshot, or null if the document was never compacted. */
  readonly snapshot: Uint8Array | null
  /** The history chunks that snapshot keeps apart, as given to `writeSnapshot` (checked: each as written). */
  readonly history: readonly Uint8Array[]
  /** Records appended after that snapshot was taken, in append order. May repeat records (replay is idempotent). */
  readonly records: readonly Uint8Array[]
  /** Damage found and repaired while loading (never fatal). */
  readonly warnings: readonly StoreWarning[]
}

export type StoreWarning =
  | { readonly kind: 'corrupt-snapshot'; readonly file: string; readonly detail: string }
  | {
      readonly kind: 'log-truncated'
      readonly file: string
      /** Length the segment was cut back to. */
      readonly validLength: number
      readonly droppedBytes: number
      readonly detail: string
    }

export interface AppendOptions {
  readonly written?: () => void
  readonly deferred?: boolean
  readonly handOver?: boolean
}

export interface DocStore {
  /** IDs of every stored document. */
  list(): Promise<string[]>
  /** The document's snapshot and later records, or null if nothing is stored under that ID. */
  load(docId: string): Promise<LoadedDoc | null>
  /**
   * Resolves once `records` and every record appended earlier to this document are durable. On failure it
   * rejects with a StorageError but keeps the records and writes them, in order, before any later append;
   * `append(docId, [])` retries them. (Only if the document cannot be opened at all, as when `load` fails,
   * are the records rejected without being kept; call `load` first.)
   * `options.written` is called before it resolves, once the records are written but maybe not yet
   * fsynced: a crash of this process can no longer lose them (only a crash of the OS can), so they may
   * be sent. `options.deferred`: they may wait a few milliseconds (op-log.ts, DEFER_MS) to be written
   * with others, in their place in the order: for records whose loss in a crash costs nothing (a peer's
   * ops: it holds them). The records are copied, unless `options.handOver`: the caller gives them up
   * (a 10 MB import is not copied again).
   */
  append(docId: string, records: readonly Uint8Array[], options?: AppendOptions): Promise<void>
  /**
   * Compaction. `snapshot` must contain the effect of every record appended to this document before this
   * call (resolved or not); records appended afterwards stay in the log. Resolves once the snapshot is durable.
   * `history`: chunks kept beside the snapshot and given back with it by `load`. A chunk with the same
   * bytes as one an earlier snapshot kept is not written again (most compactions add one chunk).
   * Neither is copied (a 10 MB document's would cost a fresh 10 MB buffer): the caller must not modify
   * them afterwards.
   */
  writeSnapshot(docId: string, snapshot: Uint8Array, history?: readonly Uint8Array[]): Promise<void>
  remove(docId: string): Promise<void>
  /**
   * The document was closed: waits for its writes in flight and releases its files (a project's file
   * documents close while idle, and a node holds 20,000 of them). A later call about it, a `load`
   * first, opens them again.
   */
  release(docId: string): Promise<void>
  /** Waits for writes in flight and releases files. Idempotent; afterwards every call rejects with CLOSED. */
  close(): Promise<void>
}

const DOC_ID = /^[A-Za-z0-9_-]{1,64}$/

export function isDocId(docId: string): boolean {
  return DOC_ID.test(docId)
}

/** Document IDs become file names, so anything but a short base64url-style token is a programmer error. */
export function assertDocId(docId: string): void {
  if (!isDocId(docId)) {
    throw new RangeError(
      `Invalid document ID ${JSON.stringify(docId)}: use 1-64 characters of A-Z a-z 0-9 _ -`,
    )
  }
}
