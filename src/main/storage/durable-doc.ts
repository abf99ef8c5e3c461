/**
 * DurableDoc: one document's replica on this node, its text (TextDoc), its properties and its members
 * (one LwwMap each), bound to a DocStore: opened from the newest snapshot plus the op log, with every accepted op
 * appended to the log and a compaction into a new snapshot once the log has grown.
 *
 * Durability (the contract is in README.md): every op that this node has acknowledged is on disk first.
 * Each method that accepts ops (insert, delete, setProp, deleteProp, setMember, applyText,
 * applyMembers) resolves only once that op's record and every record accepted before it are written and fsynced
 * (group commit batches the fsyncs); callers acknowledge only after it resolves. A peer's property
 * writes (applyProps) and seals (storeSeal's fromPeer) are written with the next write and fsynced with
 * the next fsync, as a peer's text ops are (stageText): their authors hold them. The staged forms
 * (stageInsert, stageDelete, stageText) also say when the record is written, which is when a text op may
 * be sent: a crash of this process keeps it from then on. The
 * anti-entropy sources (`textChangesSince`, `propChangesSince`, `memberChangesSince`) likewise wait until what they return is
 * durable. If a write fails, the method rejects with a StorageError and the op stays applied in memory
 * and queued: the store writes it ahead of anything later, or the next snapshot includes it.
 *
 * Replica IDs are fresh for every open, so ops lost with an unacknowledged log tail can never be
 * reissued under the same IDs with different content.
 *
 * A record that passed its checksum is an acknowledged edit, so it is never dropped in silence. If one
 * cannot be applied (a bug, or a record from an incompatible version), the document opens with
 * everything else that can be read, says so in `problems()`, and holds compaction: the log keeps the
 * record, untouched, for a version that can read it. Ops still waiting for a missing dependency after
 * the open are reported too; a snapshot keeps them (`TextDoc.saveState()`), so they apply once it arrives.
 *
 * A snapshot holds the text as the document's state (`TextDoc.saveState()`): opening costs in proportion
 * to the visible text, not to its history, which stays encoded until something reads it (a peer that
 * lacks old ops, the history view), nor to its tombstones: the spans are decoded, and checked, by the
 * first edit or remote op (a state that fails then changes nothing and throws CrdtDecodeError). Snapshots of the two earlier forms (`TextDoc.save()`, and every op as one
 * batch) still open; the next compaction rewrites them.
 */
import { createHash, randomBytes } from 'node:crypto'
import {
  CrdtDecodeError,
  LwwMap,
  opensFromSnapshot,
  packWindowState,
  TextDoc,
  type Clock,
  type DecodedOps,
  type LwwChange,
  type PropSigner,
  type TextChange,
  useBrotli,
  useInflate,
  type Utf8Bytes,
} from '../../shared/crdt'
import type { DecodedMapBatch, VersionVector } from '../../shared/crdt'
import { MemberLog, type MemberChangeRequest, type MemberRecord } from '../../shared/members/member-log'
import type { Sign } from '../../shared/members/member-op'
import { FileTree, type TreeChange, type TreeSigner } from '../../shared/tree/file-tree'
import type { TreeOp } from '../../shared/tree/tree-ops'
import { memberCrypto } from '../node/crypto'
import type { DocStore, StoreWarning } from './doc-store'
import { StorageError, closedError } from './errors'
import { nativeBrotli, nativeInflate } from './native-zlib'
import { applyRetention, type TextRetention } from './text-retention'
import { decodeTreePart, encodeTreePart } from '../../shared/tree/tree-part'

// States, snapshots and log chunks are compressed through zlib in this process (native-zlib.ts).
useInflate(nativeInflate)
useBrotli(nativeBrotli)

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** What callers may read of the text replica; writes go through DurableDoc so they are persisted. */
export type TextView = Pick<
  TextDoc,
  | 'replica'
  | 'length'
  | 'toString'
  | 'version'
  | 'save'
  | 'saveState'
  | 'pendingCount'
  | 'refusedCount'
  | 'refusedReplicas'
  | 'opCount'
  | 'seenOf'
  | 'opsOf'
  | 'recentOpsOf'
  | 'droppedOf'
  | 'droppable'
  | 'historyEncoded'
  | 'history'
  | 'historyLength'
  | 'forkAfter'
  | 'seenAfter'
  | 'idAt'
  | 'indexOfId'
  | 'cursorIndex'
  | 'cursorAnchor'
  | 'forEachRun'
  | 'repairs'
>
export type PropsView = Pick<
  LwwMap<JsonValue>,
  'get' | 'has' | 'entries' | 'version' | 'pendingCount' | 'opCount' | 'writerOf'
>
export type MembersView = Pick<
  MemberLog,
  'get' | 'entries' | 'version' | 'pendingCount' | 'opCount' | 'root' | 'equivocators' | 'size' | 'isValid'
>
export type { MemberRecord }

export type DocWarning =
  | StoreWarning
  | { readonly kind: 'undecodable-record'; readonly index: number; readonly detail: string }
  | { readonly kind: 'pending-ops'; readonly count: number }

/**
 * An op accepted in two stages: `written` once its record is in the log file (a crash of this process
 * keeps it, so it may be sent to peers), `durable` once fsynced (it may be acknowledged). Both reject if
 * the write fails. Callers must handle both.
 */
export interface Staged<T> {
  readonly value: T
  readonly written: Promise<void>
  readonly durable: Promise<void>
}

/** The two stages of a record whose value the caller has already. */
export type Stages = Pick<Staged<unknown>, 'written' | 'durable'>

export interface DurableDocOptions {
  /** Replica ID for this open; default 8 random base64url characters. Never reuse one across opens. */
  readonly replica?: string
  readonly clock?: Clock
  /**
   * Compact once the records since the last snapshot reach this many bytes (default 64 MiB)… Replaying a
   * few big records (a pasted or imported file) is faster than loading a snapshot, which holds the text
   * twice (the document's and its history's), so size alone triggers late.
   */
  readonly compactAfterBytes?: number
  /**
   * …or this many records (default 10 000): the most an open replays when the last close did not compact
   * (a crash). On the startup bench's aged document a log that full adds ~200 ms to the open, and a
   * compaction pauses for 170-220 ms (src/main/storage/README.md); a lower threshold would save part of the
   * former for several times the latter.
   */
  readonly compactAfterRecords?: number
  /**
   * On close, compact once the log holds this many records (default 1 000, at most compactAfterRecords):
   * reopening after a clean close then replays at most 999 (~80 ms on the aged document, most of it
   * warming up the replay code), and the compaction's cost falls on the close, which no one waits for.
   */
  readonly compactOnCloseAfterRecords?: number
  /** A background compaction failed. The log still holds everything, so this is a warning. */
  readonly onBackgroundError?: (error: StorageError) => void
  /** Devices this one pins as roots of a document made before signed members (member-op.ts). */
  readonly legacyRoots?: Iterable<string>
}

const TEXT = 1
const PROPS = 2
/** The member list before it was signed (an LwwMap): still read, never written. */
const LEGACY_MEMBERS = 3
const MEMBER_OPS = 4
/**
 * A seal of a replica's ops (src/main/node/replica-seal.ts): `u8 key length | key | seal bytes`; the
 * latest per key counts, and compaction keeps only that one.
 */
const SEAL = 5
/** A batch of a shared folder's tree ops (src/shared/tree), as a peer or this device made it. */
const TREE = 6
/**
 * 1: the members part is the legacy LwwMap. 2: it is the legacy map's length, the map, the MemberLog.
 * 3: as 2, then the MemberLog's length and the seals. 4: as 3, then the seals' length and the file
 * tree (src/shared/tree/tree-part.ts).
 */
const SNAPSHOT_VERSION = 4
/**
 * How the text is kept in a snapshot: `TextDoc.save()` or every op as one batch (`changesSince({})`),
 * both replayed at open (written by earlier versions), or `TextDoc.saveState()` (written now).
 */
const TEXT_SAVE = 0
const TEXT_OPS = 1
const TEXT_STATE = 2

export function newReplicaId(): string {
  return randomBytes(6).toString('base64url')
}

/** From this length on, an insert into an empty document is encoded once for every use (stageInsert). */
const WHOLE_RECORD_FROM = 64 * 1024

export class DurableDoc {
  readonly docId: string
  readonly warnings: readonly DocWarning[]
  private readonly store: DocStore
  private textDoc: TextDoc
  /**
   * `allTextOps()` as of its last call: a file's first open asks twice (its base, the window's state),
   * 10 MB of encoding each for a 10 MB file. A TextDoc never loses an applied op (a rebuild makes a new
   * one), so the same TextDoc with as many applied ops holds the same ones.
   */
  private allOps: { readonly doc: TextDoc; readonly ops: number; readonly batch: Uint8Array } | null = null
  /** `windowSnapshot()` as of its last call, kept alike. */
  private snapshotForWindow: {
    readonly doc: TextDoc
    readonly ops: number
    readonly bytes: Uint8Array
  } | null = null
  private readonly propMap: LwwMap<JsonValue>
  private readonly legacyMap: LwwMap<JsonValue>
  private readonly memberLog: MemberLog
  private readonly fileTree: FileTree
  private readonly options: DurableDocOptions
  private logBytes: number
  private logRecords: number
  private compacting: Promise<void> | null = null
  private closing: Promise<void> | null = null
  private closed = false
  /** Told of every op written and every text replaced (`onChange`), and how many there were. */
  private readonly changeListeners = new Set<() => void>()
  private changes = 0
  /** What gives the stream checkpoints a compaction keeps (`keepCheckpointsWith`). */
  private checkpointSource: (() => Iterable<readonly [string, Uint8Array]>) | null = null
  /** The text was replaced in this run: no checkpoint is kept until the next open (see replaceText). */
  private checkpointsVoid = false
  /** What deleted text a compaction drops (`keepTextWith`); null: none. */
  private retention: TextRetention | null = null
  /** The history's stored bytes after the last compaction that looked for deleted text to drop (0: none yet). */
  private retainedBytes = 0

  private constructor(
    store: DocStore,
    docId: string,
    text: TextDoc,
    props: LwwMap<JsonValue>,
    legacy: LwwMap<JsonValue>,
    members: MemberLog,
    tree: FileTree,
    private readonly sealMap: Map<string, Uint8Array>,
    options: DurableDocOptions,
    log: { bytes: number; records: number; warnings: DocWarning[] },
  ) {
    this.store = store
    this.docId = docId
    this.textDoc = text
    this.propMap = props
    this.legacyMap = legacy
    this.memberLog = members
    this.fileTree = tree
    this.options = options
    this.logBytes = log.bytes
    this.logRecords = log.records
    this.warnings = log.warnings
  }

  /**
   * Calls `listener` whenever this document changes: a text, property, member or tree op written (not
   * a seal: what the document holds is the same), or the text replaced by a rebuild. So a caller that
   * keeps something per state of many documents looks at the ones that changed, instead of asking
   * every document whether it did. Returns a function that stops the calls.
   */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener)
    return () => this.changeListeners.delete(listener)
  }

  /**
   * How many changes (`onChange`) this document has had since it opened: what is computed from its
   * state (version vectors, text order) is still valid while this is the same.
   */
  get changeCount(): number {
    return this.changes
  }

  private changed(): void {
    this.changes++
    for (const listener of this.changeListeners) listener()
  }

  /** Loads the newest snapshot, replays the log after it, and takes a fresh replica ID. */
  static async open(store: DocStore, docId: string, options: DurableDocOptions = {}): Promise<DurableDoc> {
    const replica = options.replica ?? newReplicaId()
    const lwwOptions = options.clock ? { clock: options.clock } : {}
    const loaded = await store.load(docId)
    let text = new TextDoc(replica)
    let props = new LwwMap<JsonValue>(replica, lwwOptions)
    let legacy = new LwwMap<JsonValue>(replica, lwwOptions)
    let members = new MemberLog(docId, memberCrypto, options.legacyRoots)
    const tree = new FileTree(replica, lwwOptions)
    const seals = new Map<string, Uint8Array>()
    if (loaded?.snapshot) {
      const parts = decodeSnapshotPayload(loaded.snapshot, docId)
      try {
        text =
          parts.textKind === TEXT_SAVE
            ? TextDoc.load(parts.text, replica)
            : parts.textKind === TEXT_OPS
              ? fromOps(parts.text, replica)
              : TextDoc.loadState(parts.text, replica, { history: loaded.history })
        props = LwwMap.load<JsonValue>(parts.props, replica, lwwOptions)
        legacy = LwwMap.load<JsonValue>(parts.legacyMembers, replica, lwwOptions)
        if (parts.members) members = MemberLog.load(docId, memberCrypto, parts.members, options.legacyRoots)
        if (parts.seals) for (const [key, seal] of decodeSealRecords(parts.seals)) seals.set(key, seal)
        if (parts.tree) for (const batch of decodeTreePart(parts.tree)) tree.apply(batch)
      } catch (err) {
        throw new StorageError(
          'CORRUPT',
          docId,
          `The snapshot of document ${docId} passed its checksum but cannot be decoded (${String(err)}); ` +
            'it may come from a newer Meshpad. Nothing was modified.',
          { cause: err },
        )
      }
    }
    const warnings: DocWarning[] = [...(loaded?.warnings ?? [])]
    let bytes = 0
    const records = loaded?.records ?? []
    records.forEach((record, index) => {
      bytes += record.byteLength
      try {
        if (record[0] === TEXT) text.applyRemote(record.subarray(1))
        else if (record[0] === PROPS) props.applyRemote(record.subarray(1))
        else if (record[0] === MEMBER_OPS) members.applyRemote(record.subarray(1))
        else if (record[0] === LEGACY_MEMBERS) legacy.applyRemote(record.subarray(1))
        else if (record[0] === SEAL)
          for (const [key, seal] of decodeSealRecords(record.subarray(1))) seals.set(key, seal)
        else if (record[0] === TREE) for (const batch of decodeTreePart(record.subarray(1))) tree.apply(batch)
        else throw new CrdtDecodeError(`unknown record kind ${record[0]}`)
      } catch (err) {
        // Not a torn tail (that fails its checksum in the store): an acknowledged edit this code cannot
        // apply. Everything else still opens; the record stays in the log (see the header).
        const detail = err instanceof Error ? err.message : String(err)
        warnings.push({ kind: 'undecodable-record', index, detail })
      }
    })
    const pending = text.pendingCount() + props.pendingCount() + members.pendingCount() + tree.pendingCount()
    if (pending > 0) warnings.push({ kind: 'pending-ops', count: pending })
    const doc = new DurableDoc(store, docId, text, props, legacy, members, tree, seals, options, {
      bytes,
      records: records.length,
      warnings,
    })
    setImmediate(() => doc.maybeCompact())
    return doc
  }

  get replica(): string {
    return this.textDoc.replica
  }

  /** Edits that were stored but could not be applied at open; while there are any, nothing is compacted. */
  get unreadableRecords(): number {
    return this.warnings.filter((w) => w.kind === 'undecodable-record').length
  }

  /** What a person should know about this document's stored state, one sentence each (empty if fine). */
  problems(): string[] {
    const out: string[] = []
    const unreadable = this.warnings.filter((w) => w.kind === 'undecodable-record')
    if (unreadable.length > 0) {
      out.push(
        `${unreadable.length} saved change${unreadable.length === 1 ? '' : 's'} of this document could not ` +
          `be read (${unreadable[0]!.detail}). ${unreadable.length === 1 ? 'It is' : 'They are'} kept on disk ` +
          'untouched and the document is shown with everything else; a newer Meshpad may read ' +
          `${unreadable.length === 1 ? 'it' : 'them'}. Please report this problem.`,
      )
    }
    for (const w of this.warnings) {
      if (w.kind !== 'pending-ops') continue
      out.push(
        `${w.count} change${w.count === 1 ? '' : 's'} of this document wait for earlier changes this device ` +
          'has not received yet. They are kept, and appear once a peer that has those changes connects.',
      )
    }
    return out
  }
  get text(): TextView {
    return this.textDoc
  }
  get props(): PropsView {
    return this.propMap
  }
  /** The signed member list (src/shared/members). */
  get members(): MembersView {
    return this.memberLog
  }
  /** The member list of a document from before signed members: read, never written. */
  get legacyMembers(): PropsView {
    return this.legacyMap
  }

  /** A local edit. Resolves with the op batch to broadcast, once it is durable. */
  insert(index: number, text: string, utf8?: Utf8Bytes): Promise<Uint8Array> {
    const staged = this.stageInsert(index, text, utf8)
    return staged.durable.then(() => staged.value)
  }

  delete(index: number, length: number): Promise<Uint8Array> {
    const staged = this.stageDelete(index, length)
    return staged.durable.then(() => staged.value)
  }

  /**
   * `insert`, staged: the batch at once, and when it is written (may be sent) and durable (acknowledged).
   * `utf8`: the text's UTF-8 as the caller holds it (a file as read), which a long first insert's
   * record is made of (see Utf8Bytes); otherwise unused.
   */
  stageInsert(index: number, text: string, utf8?: Utf8Bytes): Staged<Uint8Array> {
    this.checkOpen()
    const doc = this.textDoc
    if (text.length >= WHOLE_RECORD_FROM && doc.opCount() === 0) {
      // A document's first op, and a long one: a file's import. One buffer is its log record, the batch
      // sent, and every op as one batch (allTextOps, which the window opening it asks for at once): for
      // a 10 MB file, no second encoding of the text and no fresh 10 MB buffer for a copy (~30 ms each),
      // and with the file's bytes, none at all: the record is the file's buffer.
      const record = doc.localInsert(index, text, { prefix: TEXT, ...(utf8 ? { utf8 } : {}) })
      const batch = record.subarray(1)
      this.allOps = { doc, ops: doc.opCount() - doc.pendingCount(), batch }
      return { value: batch, ...this.persistRecord(record) }
    }
    const batch = doc.localInsert(index, text)
    return { value: batch, ...this.persistStaged(TEXT, batch) }
  }

  stageDelete(index: number, length: number): Staged<Uint8Array> {
    this.checkOpen()
    const batch = this.textDoc.localDelete(index, length)
    return { value: batch, ...this.persistStaged(TEXT, batch) }
  }

  /** Signs this replica's property writes from now on (src/main/node/signed-props.ts). */
  signPropsWith(signer: PropSigner): void {
    this.propMap.signWith(signer)
  }

  setProp(key: string, value: JsonValue): Promise<Uint8Array> {
    const staged = this.stageProp(key, value)
    return staged.durable.then(() => staged.value)
  }

  /** `setProp`, staged: the write's batch at once, then written, then durable. */
  stageProp(key: string, value: JsonValue): Staged<Uint8Array> {
    this.checkOpen()
    const batch = this.propMap.set(key, value)
    return { value: batch, ...this.persistStaged(PROPS, batch) }
  }

  deleteProp(key: string): Promise<Uint8Array> {
    this.checkOpen()
    const batch = this.propMap.delete(key)
    return this.persist(PROPS, batch).then(() => batch)
  }

  /** A member change by `author`, signed with `sign`. Throws RangeError if it would not count. */
  setMember(author: string, sign: Sign, change: MemberChangeRequest): Promise<Uint8Array> {
    this.checkOpen()
    const batch = this.memberLog.change(author, sign, change)
    return this.persist(MEMBER_OPS, batch).then(() => batch)
  }

  /** The seals stored, latest per key, as given to `storeSeal`. */
  seals(): Uint8Array[] {
    return [...this.sealMap]
      .filter(([key]) => !key.startsWith(ATTESTED_KEY) && !key.startsWith(CHECKPOINT_KEY))
      .map(([, seal]) => seal)
  }

  /** The stream checkpoints the last compaction kept (`keepCheckpointsWith`), as given. */
  checkpointRecords(): Uint8Array[] {
    return [...this.sealMap].filter(([key]) => key.startsWith(CHECKPOINT_KEY)).map(([, record]) => record)
  }

  /**
   * Each compaction keeps the checkpoints `source` gives, by replica (src/main/node/provenance.ts,
   * Checkpoint): with the snapshot only, never in the log, so each is taken at the snapshot's ops.
   * One kept from before for a replica that `source` leaves out stays (its loader checks it).
   */
  keepCheckpointsWith(source: () => Iterable<readonly [replica: string, record: Uint8Array]>): void {
    this.checkpointSource = source
  }

  /** Each compaction drops the deleted text `retention` says not to keep (text-retention.ts). */
  keepTextWith(retention: TextRetention): void {
    this.retention = retention
  }

  /** The attested-version records stored, latest per replica, as given to `storeAttested`. */
  attestedRecords(): Uint8Array[] {
    return [...this.sealMap]
      .filter(([key, record]) => key.startsWith(ATTESTED_KEY) && record.length > 0)
      .map(([, record]) => record)
  }

  /**
   * Stores what this node keeps of an attested version of `replica` (forks.ts), or forgets it (an
   * empty record: its device sealed as far since). Kept with the seals, latest per replica; resolves
   * once durable.
   */
  storeAttested(replica: string, record: Uint8Array): Promise<void> {
    return this.storeSeal(attestedKey(replica), record)
  }

  /**
   * Stores the latest seal under `key` (a replica ID); resolves once durable. `fromPeer`: another
   * device's seal, which its author and the peers that passed it on hold, so it is written with the
   * next write and fsynced with the next fsync, as a peer's ops are (stageText).
   */
  async storeSeal(key: string, seal: Uint8Array, fromPeer = false): Promise<void> {
    return this.stageSeal(key, seal, fromPeer).durable
  }

  /** `storeSeal`, staged: written, then durable. */
  stageSeal(key: string, seal: Uint8Array, fromPeer = false): Stages {
    this.checkOpen()
    this.sealMap.set(key, seal)
    return this.persistStaged(SEAL, encodeSealRecords([[key, seal]]), fromPeer)
  }

  /** Pins roots of a legacy document (kept by the caller, who passes them again at every open). */
  pinLegacyRoots(keys: Iterable<string>): string[] {
    return this.memberLog.pinLegacyRoots(keys)
  }

  /**
   * Ops from a peer or from the UI's replica. A batch that fails to decode throws CrdtDecodeError and is
   * neither applied nor stored. Resolves with the visible changes once the batch is durable.
   */
  async applyText(batch: Uint8Array): Promise<TextChange[]> {
    const staged = this.stageText(batch)
    await staged.durable
    return staged.value
  }

  /**
   * `applyText`, staged: the visible changes at once (the batch is applied), then written, then durable.
   * For ops made elsewhere: a peer's (`fromPeer`: their author holds them, so they are written with the
   * next write, within op-log.ts's DEFER_MS) or another window's of this device (written at once).
   * `decoded`: the batch's ops, if the caller decoded it already.
   */
  stageText(batch: Uint8Array, fromPeer = false, decoded?: DecodedOps): Staged<TextChange[]> {
    this.checkOpen()
    const before = this.textDoc.opCount()
    const changes = this.textDoc.applyRemote(batch, decoded)
    // A duplicate adds nothing to store, but may still be in flight from another sender: wait for it.
    const record = before === this.textDoc.opCount() ? null : batch
    return { value: changes, ...this.persistStaged(TEXT, record, fromPeer) }
  }

  /**
   * Takes `version` as the ops of an equivocating device's replica in place of the ones held (see
   * TextDoc.rebuiltWith and docs/PROTOCOL.md, "Equivocation"), and writes a snapshot of the document
   * so rebuilt: the log before it, which holds the other version, is dropped. Returns the text before
   * and after. A crash before the snapshot is written reopens the old version, and peers offer the
   * agreed one again.
   *
   * Null, and nothing changes, if an op of a replica that `mine` names would then wait for characters
   * the version lacks: that replica's counter would go back, and its next edit would take a counter
   * it already used, so this device would sign two histories itself.
   */
  async replaceVersion(
    replica: string,
    version: Uint8Array,
    mine: (replica: string) => boolean,
  ): Promise<{ before: string; after: string } | null> {
    this.checkOpen()
    return this.replaceText(this.textDoc.rebuiltWith(replica, version), mine)
  }

  /**
   * Rebuilds the text from the same ops in canonical order (TextDoc.canonical; src/main/node/text-order.ts),
   * and writes a snapshot of it, as `replaceVersion` does.
   */
  async rebuildCanonical(
    mine: (replica: string) => boolean,
  ): Promise<{ before: string; after: string } | null> {
    this.checkOpen()
    return this.replaceText(this.textDoc.canonical(), mine)
  }

  private async replaceText(
    next: TextDoc,
    mine: (replica: string) => boolean,
  ): Promise<{ before: string; after: string } | null> {
    const old = this.textDoc
    for (const [r, counter] of Object.entries(old.version())) {
      if (mine(r) && next.seenOf(r) < counter) return null
    }
    const before = old.toString()
    this.textDoc = next
    // A replica's stream may differ now, and what hashed it has not heard yet: its checkpoint would
    // not match the ops kept. None is kept from here on in this run; the next open starts afresh.
    this.checkpointsVoid = true
    this.changed()
    const after = next.toString()
    // A compaction in flight snapshots the old version: this one follows it.
    await this.compacting?.catch(() => undefined)
    await this.compact()
    return { before, after }
  }

  /**
   * Property writes from a peer: resolves with the changes once their record is written, and it is
   * fsynced with the next fsync, as a peer's ops are (their authors hold them). A joiner got a property
   * write with each file of a project, and its fsync came on its own, apart from the file's ops.
   */
  async applyProps(batch: Uint8Array, decoded?: DecodedMapBatch): Promise<LwwChange<JsonValue>[]> {
    this.checkOpen()
    const before = this.propMap.opCount()
    const changes = this.propMap.applyRemote(batch, decoded)
    if (before !== this.propMap.opCount()) await this.persistStaged(PROPS, batch, true).written
    return changes
  }

  /** Member ops from a peer; resolves with the devices whose record changed, once durable. */
  async applyMembers(batch: Uint8Array): Promise<string[]> {
    this.checkOpen()
    const before = this.memberLog.opCount()
    const changes = this.memberLog.applyRemote(batch)
    await this.persist(MEMBER_OPS, before === this.memberLog.opCount() ? null : batch)
    return changes
  }

  /** A shared folder's file tree (src/shared/tree): read here, changed by `changeTree` and `applyTree`. */
  get tree(): FileTree {
    return this.fileTree
  }

  /** Signs this replica's tree ops from now on (src/main/node/signed-tree.ts). */
  signTreeWith(signer: TreeSigner): void {
    this.fileTree.signWith(signer)
  }

  /**
   * A change of the tree by this replica: `make` makes the op or ops (`tree.create(…).op`,
   * `tree.move(…)`, …, which throw RangeError on a change the tree refuses). Resolves with its batch (tree-part.ts)
   * once durable.
   */
  async changeTree(make: (tree: FileTree) => TreeOp | TreeOp[]): Promise<Uint8Array> {
    this.checkOpen()
    const made = make(this.fileTree)
    const ops = Array.isArray(made) ? made : [made]
    if (ops.length === 0) return encodeTreePart([])
    const batch = encodeTreePart(ops)
    await this.persist(TREE, batch)
    return batch
  }

  /**
   * Tree ops from a peer (tree-part.ts). A batch that fails to decode throws CrdtDecodeError and nothing
   * of it is applied. Resolves with the nodes whose place changed, once durable. `decoded`: the batch
   * as `decodeTreePart` gave it, if the caller has it.
   */
  async applyTree(batch: Uint8Array, decoded?: readonly (readonly TreeOp[])[]): Promise<TreeChange[]> {
    this.checkOpen()
    const batches = decoded ?? decodeTreePart(batch) // all of it decoded before any is applied
    const before = this.fileTree.opCount()
    const changes = batches.flatMap((ops) => this.fileTree.apply(ops))
    await this.persist(TREE, before === this.fileTree.opCount() ? null : batch)
    return changes
  }

  /** The tree ops a peer at version `v` lacks (tree-part.ts), once all of them are durable. */
  async treeChangesSince(v: VersionVector): Promise<Uint8Array> {
    this.checkOpen()
    const batch = encodeTreePart(this.fileTree.opsSince(v))
    await this.flush()
    return batch
  }

  /**
   * Every text op as one batch, as of now, for a local fork (the merge base of a LinkedFile) or a window
   * opening the document. Not for peers: some of it may not be durable yet; they get `textChangesSince`.
   */
  allTextOps(): Uint8Array {
    const { textDoc } = this
    const ops = textDoc.opCount() - textDoc.pendingCount() // the ops applied: only ever grows
    const last = this.allOps
    if (last?.doc === textDoc && last.ops === ops) return last.batch
    const batch = textDoc.changesSince({})
    this.allOps = { doc: textDoc, ops, batch }
    return batch
  }

  /**
   * The document as a window opens it when its history is long against its text (window-state.ts):
   * the state form with its history chunks, which the window reads only if something needs them. Null
   * where every op (`allTextOps`) opens faster: a short history, or one already read.
   */
  windowSnapshot(): Uint8Array | null {
    const { textDoc } = this
    if (!opensFromSnapshot(textDoc)) return null
    const ops = textDoc.opCount() - textDoc.pendingCount()
    const last = this.snapshotForWindow
    if (last?.doc === textDoc && last.ops === ops) return last.bytes
    let bytes: Uint8Array
    try {
      bytes = packWindowState(textDoc)
    } catch {
      return null // spans that do not decode (a damaged state: text-doc.ts repairs them): every op, as before
    }
    this.snapshotForWindow = { doc: textDoc, ops, bytes }
    return bytes
  }

  /** What a peer at version `v` lacks, returned only once all of it is durable. */
  async textChangesSince(v: VersionVector): Promise<Uint8Array> {
    this.checkOpen()
    const batch = this.textDoc.changesSince(v)
    await this.flush()
    return batch
  }

  async propChangesSince(v: VersionVector): Promise<Uint8Array> {
    this.checkOpen()
    const batch = this.propMap.changesSince(v)
    await this.flush()
    return batch
  }

  async memberChangesSince(v: VersionVector): Promise<Uint8Array> {
    this.checkOpen()
    const batch = this.memberLog.changesSince(v)
    await this.flush()
    return batch
  }

  /** Resolves once everything accepted so far is durable; retries writes that failed. */
  flush(): Promise<void> {
    return this.store.append(this.docId, [])
  }

  /** Writes a snapshot of the current state; the log before it is then dropped (keeping one fallback). */
  compact(): Promise<void> {
    this.checkOpen()
    if (this.compacting) return this.compacting
    // A snapshot would let the store drop the log, and with it the records this version cannot read.
    if (this.unreadableRecords > 0) return Promise.resolve()
    // The store requires the snapshot to cover every record appended before the call: both happen now.
    // The state form: it loads without replaying the history and keeps pending ops; its sections are
    // compressed through zlib at a quality that falls with their size (native-zlib.ts), not by save()'s
    // pure-JS deflate (700 ms for 10 MB of prose, blocking the event loop). The history's chunks saved
    // or loaded before are kept as they are, and one is added for the ops since: each op's history is
    // encoded once. It goes apart, into files of their own that later snapshots share (file-store.ts).
    const retained = this.retain()
    const { state, history } = this.textDoc.saveStateApart()
    if (retained) this.retainedBytes = this.textDoc.historyBytes()
    if (this.checkpointsVoid) {
      for (const key of this.sealMap.keys()) if (key.startsWith(CHECKPOINT_KEY)) this.sealMap.delete(key)
    } else if (this.checkpointSource) {
      // They only save work: a compaction must not fail for them (none is kept from a source that throws).
      try {
        for (const [replica, record] of [...this.checkpointSource()])
          this.sealMap.set(checkpointKey(replica), record)
      } catch {
        // the checkpoints kept before stay; each is checked when taken up
      }
    }
    const payload = encodeSnapshotPayload(TEXT_STATE, [
      state,
      this.propMap.save(),
      this.legacyMap.save(),
      this.memberLog.save(),
      encodeSealRecords([...this.sealMap]),
      encodeTreePart(this.fileTree.opsSince({})),
    ])
    this.logBytes = 0
    this.logRecords = 0
    this.compacting = this.store.writeSnapshot(this.docId, payload, history).finally(() => {
      this.compacting = null
    })
    return this.compacting
  }

  /**
   * Flushes and waits for compaction. If the flush fails (disk full…) it rejects and the document stays
   * open, so the caller can tell the user and try again. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.compacting?.catch(() => undefined)
      // A compaction is done now rather than left to the next open, with the lower threshold of a close;
      // if it fails the log still has it all.
      if (this.compactionDue(true)) await this.compact().catch(() => undefined)
      await this.flush()
      this.closed = true
      await this.store.release(this.docId) // its open files: a node may close thousands of documents
    })().catch((err: unknown) => {
      this.closing = null
      throw err
    })
    return this.closing
  }

  private persist(kind: number, batch: Uint8Array | null): Promise<void> {
    return this.persistStaged(kind, batch).durable
  }

  /**
   * Appends the batch to the log. `written` resolves once it is written (a crash of this process keeps
   * it), `durable` once it is fsynced; both reject if the write fails.
   */
  private persistStaged(kind: number, batch: Uint8Array | null, deferred = false): Stages {
    if (!batch) {
      const flushed = this.flush()
      return { written: flushed, durable: flushed }
    }
    const record = new Uint8Array(batch.byteLength + 1)
    record[0] = kind
    record.set(batch, 1)
    return this.persistRecord(record, deferred)
  }

  /**
   * Appends a record made for the store alone (`persistStaged`, or a long first insert's own buffer:
   * `stageInsert`), its kind in its first byte: written, then durable.
   */
  private persistRecord(record: Uint8Array, deferred = false): Stages {
    if (record[0] !== SEAL) this.changed()
    this.logBytes += record.byteLength
    this.logRecords++
    let onWritten!: () => void
    const inFile = new Promise<void>((resolve) => (onWritten = resolve))
    // Handed over: the record is made here for the store alone, and may be 10 MB (a pasted file).
    const durable = this.store.append(this.docId, [record], { written: onWritten, deferred, handOver: true })
    // A failed write rejects `durable` without calling onWritten: `written` fails with it.
    const written = Promise.race([inFile, durable])
    written.catch(() => undefined) // callers that wait only for `durable` hear of the failure there
    // After the caller's continuation, not before: a compaction's saveState() is synchronous CPU work
    // (~100-250 ms on a long-edited document) that must not delay the op's acknowledgement.
    durable.then(
      () => setImmediate(() => this.maybeCompact()),
      () => undefined,
    )
    return { written, durable }
  }

  /** Drops the deleted text the retention policy says not to keep; whether it looked. A damaged history fails no compaction. */
  private retain(): boolean {
    if (!this.retention) return false
    try {
      return applyRetention(this.textDoc, this.retention, this.retainedBytes, this.logBytes)
    } catch (err) {
      if (!(err instanceof CrdtDecodeError)) throw err
      // A damaged stored history: it is kept as it is, text and all, and not read again this session.
      this.retention = null
      this.options.onBackgroundError?.(
        new StorageError(
          'CORRUPT',
          this.docId,
          'The history of this document could not be read, so its old deleted text is kept as it is.',
          { cause: err },
        ),
      )
      return false
    }
  }

  private compactionDue(closing = false): boolean {
    if (this.unreadableRecords > 0) return false
    const bytes = this.options.compactAfterBytes ?? 64 * 1024 * 1024
    let records = this.options.compactAfterRecords ?? 10_000
    if (closing) records = Math.min(records, this.options.compactOnCloseAfterRecords ?? 1_000)
    return this.logBytes >= bytes || this.logRecords >= records
  }

  private maybeCompact(): void {
    if (this.closed || this.closing || this.compacting || !this.compactionDue()) return
    this.compact().catch((err: unknown) => {
      if (err instanceof StorageError) this.options.onBackgroundError?.(err)
      else throw err
    })
  }

  private checkOpen(): void {
    if (this.closed) throw closedError(`Document ${this.docId}`)
  }
}

/**
 * `u8 version | u8 text form | u32 text length | u32 props length | u32 legacy members length | u32
 * members length | text | props | legacy members | members | seals` (version 1 had no fourth part, its
 * third being the legacy members; version 2 had no seals, its members running to the end).
 */
function encodeSnapshotPayload(
  textKind: number,
  parts: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array],
): Uint8Array {
  const [text, props, legacy, members, seals] = parts
  let size = HEADER
  for (const part of parts) size += part.byteLength
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  out[0] = SNAPSHOT_VERSION
  out[1] = textKind
  view.setUint32(2, text.byteLength, true)
  view.setUint32(6, props.byteLength, true)
  view.setUint32(10, legacy.byteLength, true)
  view.setUint32(14, members.byteLength, true)
  view.setUint32(18, seals.byteLength, true)
  let at = HEADER
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}
const HEADER_V1 = 10
const HEADER_V2 = 14
const HEADER_V3 = 18
const HEADER = 22

function decodeSnapshotPayload(
  payload: Uint8Array,
  docId: string,
): {
  textKind: number
  text: Uint8Array
  props: Uint8Array
  legacyMembers: Uint8Array
  members: Uint8Array | null
  seals: Uint8Array | null
  tree: Uint8Array | null
} {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const version = payload[0]!
  const header = [0, HEADER_V1, HEADER_V2, HEADER_V3, HEADER][version] ?? 0
  const ok =
    payload.byteLength >= header && version >= 1 && version <= SNAPSHOT_VERSION && payload[1]! <= TEXT_STATE
  const textEnd = ok ? header + view.getUint32(2, true) : 0
  const propsEnd = ok ? textEnd + view.getUint32(6, true) : 0
  const legacyEnd = ok && version >= 2 ? propsEnd + view.getUint32(10, true) : payload.byteLength
  const membersEnd = ok && version >= 3 ? legacyEnd + view.getUint32(14, true) : payload.byteLength
  const sealsEnd = ok && version >= 4 ? membersEnd + view.getUint32(18, true) : payload.byteLength
  if (
    !ok ||
    propsEnd > payload.byteLength ||
    legacyEnd > payload.byteLength ||
    membersEnd > payload.byteLength ||
    sealsEnd > payload.byteLength
  ) {
    throw new StorageError(
      'CORRUPT',
      docId,
      `The snapshot of document ${docId} has an unknown layout (version ${payload[0]}); it may come from a ` +
        'newer Meshpad. Nothing was modified.',
    )
  }
  return {
    textKind: payload[1]!,
    text: payload.subarray(header, textEnd),
    props: payload.subarray(textEnd, propsEnd),
    legacyMembers: payload.subarray(propsEnd, legacyEnd),
    members: version === 1 ? null : payload.subarray(legacyEnd, membersEnd),
    seals: version >= 3 ? payload.subarray(membersEnd, sealsEnd) : null,
    tree: version >= 4 ? payload.subarray(sealsEnd) : null,
  }
}

/**
 * Attested-version records share the seals' records under keys of their own: a digest of the replica
 * ID, longer than any replica ID may be (MAX_REPLICA_LENGTH), so that no replica's seal key is one.
 */
const ATTESTED_KEY = 'attested:'
const attestedKey = (replica: string): string =>
  ATTESTED_KEY + createHash('sha256').update(replica).digest('hex')
/** Stream checkpoints' keys, of the same kind. */
const CHECKPOINT_KEY = 'checkpoint:'
const checkpointKey = (replica: string): string =>
  CHECKPOINT_KEY + createHash('sha256').update(replica).digest('hex')

/** `(u8 key length | key | u32 seal length | seal)*`: seals by key, opaque to storage. */
function encodeSealRecords(entries: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const [key, seal] of entries) {
    const k = Buffer.from(key)
    const head = new Uint8Array(5 + k.length)
    head[0] = k.length
    head.set(k, 1)
    new DataView(head.buffer).setUint32(1 + k.length, seal.byteLength, true)
    parts.push(head, seal)
  }
  return Buffer.concat(parts)
}

function decodeSealRecords(bytes: Uint8Array): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  while (at < bytes.byteLength) {
    const n = bytes[at]!
    if (at + 5 + n > bytes.byteLength) throw new CrdtDecodeError('truncated seal record')
    const key = Buffer.from(bytes.subarray(at + 1, at + 1 + n)).toString()
    const len = view.getUint32(at + 1 + n, true)
    const start = at + 5 + n
    if (start + len > bytes.byteLength) throw new CrdtDecodeError('truncated seal record')
    out.push([key, bytes.slice(start, start + len)])
    at = start + len
  }
  return out
}

/** A TextDoc rebuilt from every op of a document, as `changesSince({})` encodes them. */
export function fromOps(batch: Uint8Array, replica: string): TextDoc {
  const doc = new TextDoc(replica)
  doc.applyRemote(batch)
  if (doc.pendingCount() > 0) throw new CrdtDecodeError('a snapshot batch has ops with missing dependencies')
  return doc
}
