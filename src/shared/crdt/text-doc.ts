/**
 * TextDoc: the replicated text of one document, a sequence CRDT of the RGA family.
 *
 * Algorithm. Every inserted character has a unique ID (replica, counter) and remembers two origins:
 * the character that was immediately to its left when it was inserted, and the one immediately to its
 * right (either may be a tombstone, or the document edge). A remote insert is integrated by the
 * YjsMod rule (Gentle's variant of Yjs/YATA, shown by Weidner & Kleppmann to order like FugueMax):
 * start right after the left origin and scan forward until the right origin, past every character
 * that was inserted concurrently into the same gap; among those, order by comparing origins, and only
 * on a true tie (same left and right origins) by replica ID. Because a character typed after another
 * takes it as left origin, and one typed before another takes it as right origin, runs typed
 * concurrently into the same place never interleave, whether typed forwards or backwards.
 *
 * Deleting marks characters as tombstones; they stay in the sequence so that late ops can still name
 * them as origins. Both inserting and deleting a character consume one counter of the acting replica,
 * so a version vector (highest counter per replica, always contiguous) counts every op and
 * `changesSince` returns exactly the ops a peer lacks. Ops whose dependencies (earlier ops of the same
 * replica, origins, delete targets) are missing are parked, never thrown away, on the first missing
 * one, and retried when it is applied (pending-ops.ts).
 *
 * Representation. Characters live in spans (span.ts): runs with consecutive IDs, kept in a B-tree
 * that counts visible and raw characters (span-tree.ts) plus a per-replica index from ID to span
 * (id-index.ts); both lookups are O(log n). Adjacent inserts into one gap that tie on both origins are
 * kept in runs ordered by replica ID (sibling-runs.ts), which the scan passes by binary search: n
 * replicas inserting at one place cost O(log n) lookups each, not O(n). The op log, in the order ops
 * were applied here (a causal order), is kept separately and is what batches, `changesSince` and
 * snapshots encode.
 *
 * Persistence. `save()`/`load()` keep the op log (compact, for the wire and benchmarks; loading replays
 * it). `saveState()`/`loadState()` keep the document itself (text-state.ts): replicas, version, the spans
 * with their origins, the visible text and the parked ops, which load with no integration;
 * the log rides along still encoded and is decoded only when something reads the history
 * (`changesSince` of a peer that lacks old ops, `history`, `textAfter`, `insertedAt`, `save`). Until
 * then `log` holds only the ops applied since (the tail), and the full log is the old one ++ the tail.
 * The spans stay encoded too until an edit, a remote op or an ID lookup needs them (`tree`): reading
 * the text of a document just opened costs the text. Even then a leaf of the tree makes its Span
 * objects only when first read (loaded-spans.ts), so an edit costs the leaves it touches.
 *
 * Positions are UTF-16 code units, as in CodeMirror; an insert or delete that would split a surrogate
 * pair is refused with a RangeError.
 */
import { canonicalOrder } from './canonical-order'
import { IdIndex } from './id-index'
import { LoadedSpans } from './loaded-spans'
import { dropBlocks, findDroppable, type DropCandidate } from './dropped-text'
import { BLOCK_COUNTERS, blockOf, DROPPED_UNIT, type DroppedBlocks } from './op-stream'
import { DeleteOp, InsertOp, type TextOp } from './ops'
import { PendingOps } from './pending-ops'
import { checkReplicaId } from './replica-table'
import { Replicas } from './replicas'
import { SiblingRuns } from './sibling-runs'
import { decodeLogChunk, encodeLogChunk } from './log-chunk'
import { checkHistorySize, placeholder, restoreHistoryText, TextPieces } from './history-text'
import { decodesAlone, encodePositionalChunk, isPositional, isTextless } from './positional-chunk'
import { Span } from './span'
import { Leaf, SpanTree } from './span-tree'
import { taskClock } from './task-clock'
import {
  decodeTextOps,
  droppedFor,
  encodeLocalOp,
  encodeTextOps,
  hasLoneSurrogate,
  type DecodedOps,
  type RecordOptions,
} from './text-codec'
import { decodeTextState, encodeTextState, type DecodedTextState } from './text-state'
import { CrdtDecodeError, DamagedStateError } from './types'
import type { CharId, TextChange, VersionVector } from './types'

export interface TextDocOptions {
  readonly clock?: () => number
}

/** One op of the history: an insert with its text, or a delete with the first character it removed. */
export type HistoryEntry =
  | {
      readonly kind: 'insert'
      readonly replica: string
      readonly counter: number
      readonly length: number
      readonly time: number
      readonly text: string
    }
  | {
      readonly kind: 'delete'
      readonly replica: string
      readonly counter: number
      readonly length: number
      readonly time: number
      readonly target: CharId
    }

const EMPTY_PENDING = encodeTextOps([], [])
/**
 * `saveState` keeps the log chunks of a history it never decoded and adds one for the ops since; a
 * state has at most this many (past it, the two adjacent chunks smallest together are joined).
 */
const MAX_LOG_CHUNKS = 32

/** The part of the op log that `loadState` left encoded. */
interface OldLog {
  /** Chunks of `encodeLogChunk`, oldest first; the last chunk of the state is not here (see loadState). */
  chunks: readonly Uint8Array[]
  /** By agent, the last counter of its ops in `chunks`: they hold exactly counters 1 to this. */
  readonly seen: readonly number[]
}
/** No origin (the document's edge). A local copy of span.ts's NONE: imported constants cost a property
 * lookup per use in CommonJS builds, and these checks run on every op. */
const NONE = -1
const MAX_PENDING_OPS = 1_000_000
/** `missing`'s counter for an insert held until deletes cover its dropped text (not parked: `uncovered`). */
const COVER = -1
/** Keystrokes this close together join one log entry (history then shows the burst's start time). */
const MERGE_WINDOW_S = 60

const SURROGATE = /[\uD800-\uDFFF]/
/** Whether two documents hold the same characters in the same order (tombstones included). */
function sameRuns(a: TextDoc, b: TextDoc): boolean {
  const runs = (doc: TextDoc): (string | number)[] => {
    const out: (string | number)[] = []
    doc.forEachRun((replica, counter, length) => out.push(replica, counter, length))
    return out
  }
  const [x, y] = [runs(a), runs(b)]
  return x.length === y.length && x.every((v, i) => v === y[i])
}
/** Two deletes' removed texts, in counter order, as one (unknown if either is). */
const joined = (a: string | null, b: string | null): string | null =>
  a === null || b === null ? null : a + b
const isSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdfff
const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff

/** Replicas named by `refusedReplicas`, at most: a peer must not grow this without bound. */
const MAX_REFUSED_NAMED = 16

export class TextDoc {
  readonly replica: string
  /** Every replica heard of; this one is agent 0. `replicas` and `versions` are its arrays. */
  private readonly replicaTable: Replicas
  private readonly replicas: string[]
  private readonly versions: number[]
  /** Σ versions, kept as they advance; null until first counted (loads fill `versions` directly). */
  private applied: number | null = null
  /** The document order; null while a loaded state's spans are still encoded (see `tree`). */
  private sequence: SpanTree | null = new SpanTree()
  private readonly index = new IdIndex()
  /**
   * Until the spans of a loaded state are needed: the state's text, and what decodes the spans (which
   * `loadState` leaves encoded: reading the text, its length or the history needs none of them).
   */
  private encoded: { readonly text: string; readonly decode: () => void } | null = null
  /** Runs of adjacent sibling inserts that the integration scan can pass at once (sibling-runs.ts). */
  private readonly runs: SiblingRuns
  /**
   * Applied ops in application order; consecutive local keystrokes are merged into one op. While
   * `oldLog` is set, only the ops after it (its last op included, as a local edit may extend that one).
   */
  private log: TextOp[] = []
  /** The log's older part, still encoded; `fullLog()` decodes it. */
  private oldLog: OldLog | null = null
  /**
   * Chunks already made that hold exactly the first `ops` ops of `log` (after `oldLog`, if it is set): by
   * an earlier save, or stored and decoded since (`fullLog`). A save keeps them as they are and encodes
   * only the ops after them, so however often a document is saved, each op's history is encoded once
   * and a store writes it once (a file per chunk: `saveStateApart`).
   */
  private stored: {
    readonly chunks: readonly Uint8Array[]
    /** How many ops each chunk holds (a chunk's ops follow the previous one's in `log`). */
    readonly counts: readonly number[]
    readonly ops: number
  } | null = null
  /** Ops waiting for missing dependencies, each indexed by the ID it waits for (pending-ops.ts). */
  private readonly pending = new PendingOps()
  /** Set by `tryApply` when it returns false: the missing ID it found, which `park` waits on. */
  private missingAgent = NONE
  private missingCounter = 0
  /** Inserts refused as malformed (`refusedCount`), and the replicas that made them (a few). */
  private refused = 0
  private readonly refusedBy = new Set<string>()
  /** The span our last local insert created or extended, for the typing fast path. */
  private lastLocal: Span | null = null
  private readonly scratchInsert = new InsertOp(0, 0, '', NONE, 0, NONE, 0)
  /**
   * Where typing would continue `lastLocal` (the visible index after it, and its leaf slot), valid
   * until any other change to the sequence; -1 when unknown. Saves the tree descent per keystroke.
   */
  private typingIndex = -1
  private typingLeaf: Leaf | null = null
  private typingAt = 0
  /** Why a loaded state's spans were rebuilt from its history (`checkedState`), if they were. */
  readonly repairs: string[] = []
  /** Whether any surrogate was ever inserted; until then no position can split a pair. */
  private hasSurrogates = false
  /**
   * Null: a delete applied here keeps the text it removed (`DeleteOp.removed`). Set only on the replay
   * that decodes a stored history (`restoreText`), whose deletes have their text already: it is told
   * instead which characters each removed, as runs of counters of its target (counter, length, …).
   */
  private removedRuns: ((op: DeleteOp, runs: readonly number[]) => void) | null = null
  /**
   * Per agent, the blocks whose text was dropped (here, or by the peer a catch-up came from), with
   * their hashes: the seal digest's stand-ins for that text (op-stream.ts, the block form), and what a
   * catch-up sent from here names (text-codec.ts, kind 10). Their inserts hold DROPPED_UNIT.
   */
  private readonly dropped = new Map<number, Map<number, Uint8Array>>()
  /** Inserts of a batch that named their blocks dropped, with those blocks (set as the batch applies). */
  private droppedOps: WeakMap<TextOp, DroppedBlocks> | null = null
  /** Per agent, its next insert, whose text was dropped, waiting for deletes of all of it (`takesDropped`). */
  private readonly uncovered = new Map<number, Uncovered>()
  /** Inserts that deletes now cover, to apply once the op in hand is done (applyDecoded). */
  private covered: InsertOp[] = []

  private readonly clock: () => number

  /** `options.clock`: wall-clock milliseconds, for op history times (injected in tests). */
  constructor(replica: string, options: TextDocOptions = {}) {
    checkReplicaId(replica)
    this.replica = replica
    this.replicaTable = new Replicas(replica)
    this.replicas = this.replicaTable.ids
    this.versions = this.replicaTable.seen
    this.runs = new SiblingRuns(this.replicas)
    this.clock = options.clock ?? taskClock
  }

  private seconds(): number {
    return Math.floor(this.clock() / 1000)
  }

  get length(): number {
    return this.sequence === null ? this.encoded!.text.length : this.sequence.visibleLength
  }

  toString(): string {
    return this.sequence === null ? this.encoded!.text : this.sequence.text()
  }

  /**
   * The document order, decoding a loaded state's spans first if they still are encoded (validating
   * them: CrdtDecodeError). Every operation but reading the text reads it before changing anything, so
   * a state whose spans fail to decode changes nothing.
   */
  private get tree(): SpanTree {
    return this.sequence ?? this.decodeSpans()
  }

  /** The ID index, decoding a loaded state's spans first (as `tree`). */
  private get ids(): IdIndex {
    if (this.sequence === null) this.decodeSpans()
    return this.index
  }

  /**
   * Runs a check of a loaded state's spans. They are derived data: the history beside them holds every
   * op. Spans that fail their checks (a bug, a disk that lies) are rebuilt from it, in canonical order
   * (canonical-order.ts), so no edit, no peer's op and no sync is refused for them; only a history that
   * cannot rebuild them throws, a DamagedStateError (this copy is at fault, never a peer's batch).
   */
  private checkedState(check: () => void): void {
    try {
      check()
    } catch (err) {
      if (!(err instanceof CrdtDecodeError) || err instanceof DamagedStateError) throw err
      let rebuilt: TextDoc
      try {
        rebuilt = this.rebuilt(null, { clock: this.clock })
      } catch (failed) {
        const why = failed instanceof Error ? failed.message : String(failed)
        throw new DamagedStateError(`${err.message}; its history cannot rebuild it either: ${why}`)
      }
      // Every field from the rebuilt replica (same replica ID and clock; nothing refers back to it).
      Object.assign(this, rebuilt)
      this.repairs.push(err.message)
    }
  }

  private decodeSpans(): SpanTree {
    this.checkedState(() => this.encoded?.decode())
    this.encoded = null
    return this.sequence!
  }

  version(): VersionVector {
    return this.replicaTable.version()
  }

  /**
   * Inserts refused as malformed since this replica was made (their origins are out of order, or name
   * no character: no honest replica makes such an insert), and the replicas that made them (the first
   * MAX_REFUSED_NAMED).
   */
  refusedCount(): number {
    return this.refused
  }

  refusedReplicas(): string[] {
    return [...this.refusedBy]
  }

  pendingCount(): number {
    return this.pending.size
  }

  /**
   * Ops held: every counter applied (Σ of the version vector) plus the ops parked. It grows exactly
   * when a batch taught this replica something; O(1), where a version vector is O(replicas).
   */
  opCount(): number {
    if (this.applied === null) this.applied = this.versions.reduce((n, c) => n + c, 0)
    return this.applied + this.pending.size
  }

  /** The highest counter of `replica` applied here (0: none). O(1). */
  seenOf(replica: string): number {
    const agent = this.replicaTable.lookup(replica)
    return agent === undefined ? 0 : (this.versions[agent] ?? 0)
  }

  /**
   * The applied ops of `replica` after counter `after`, in counter order, with the replica table
   * their agents index (both read-only). Decodes the stored history if it reaches into it.
   */
  opsOf(replica: string, after: number): { ids: readonly string[]; agent: number; ops: TextOp[] } {
    const agent = this.replicaTable.lookup(replica) ?? -1
    const ops: TextOp[] = []
    if (agent >= 0 && (this.versions[agent] ?? 0) > after) {
      const old = this.oldLog
      const log = old !== null && (old.seen[agent] ?? 0) <= after ? this.log : this.fullLog()
      for (const op of log) if (op.agent === agent && op.counter + op.length - 1 > after) ops.push(op)
    }
    return { ids: this.replicas, agent, ops }
  }

  /**
   * Characters deleted, the tombstones, whether or not their text is still kept (dropText); null while
   * a loaded state's spans are still encoded (nothing has edited the document since it was loaded).
   */
  deletedLength(): number | null {
    return this.sequence === null ? null : this.sequence.rawLength - this.sequence.visibleLength
  }

  /** Bytes of the history's chunks as stored or last saved (ops since the last save not counted). */
  historyBytes(): number {
    let n = 0
    for (const chunk of this.oldLog?.chunks ?? []) n += chunk.length
    for (const chunk of this.stored?.chunks ?? []) n += chunk.length
    return n
  }

  /** Whether part of the op log is still encoded as `loadState` left it (nothing has read the whole history). */
  historyEncoded(): boolean {
    return this.oldLog !== null
  }

  /** `opsOf`, if that needs none of the stored history decoded (the ops are those applied since it); else null. */
  recentOpsOf(
    replica: string,
    after: number,
  ): { ids: readonly string[]; agent: number; ops: TextOp[] } | null {
    const agent = this.replicaTable.lookup(replica) ?? -1
    const old = this.oldLog
    if (agent >= 0 && old !== null && (old.seen[agent] ?? 0) > after) return null
    return this.opsOf(replica, after)
  }

  /** Moves an agent's version to `counter` (its last op applied), keeping `opCount` in step. */
  private advance(agent: number, counter: number): void {
    if (this.applied !== null) this.applied += counter - (this.versions[agent] ?? 0)
    this.versions[agent] = counter
  }

  // ---- local edits -------------------------------------------------------------------------------

  /**
   * Inserts `text` at `index` as this replica and returns the op's batch. With `record`, the batch
   * carries the op's time (as `changesSince` encodes ops) and comes after its prefix byte, in one
   * buffer: a store's record of it, for which the batch need not be copied, nor the text encoded if
   * `record.utf8` holds its UTF-8 (see encodeTextOps).
   */
  localInsert(index: number, text: string, record?: RecordOptions): Uint8Array {
    this.checkIndex(index, 'insert')
    if (typeof text !== 'string') throw new TypeError('insert: text must be a string')
    if (text.length === 1 ? isSurrogate(text.charCodeAt(0)) : SURROGATE.test(text)) {
      if (hasLoneSurrogate(text)) throw new RangeError('insert: text contains an unpaired surrogate')
      this.hasSurrogates = true
    }
    if (this.splitsPair(index)) throw new RangeError(`insert: index ${index} is inside a surrogate pair`)
    if (record?.utf8) checkUtf8Length(text, record.utf8.bytes)
    if (text.length === 0) return encodeTextOps(this.replicas, [])

    const counter = this.versions[0]! + 1
    const tree = this.tree
    let leaf: Leaf
    let at: number // index in leaf.spans where the new span goes
    let olAgent = NONE
    let olCounter = 0
    if (index === this.typingIndex && index > 0) {
      leaf = this.typingLeaf!
      at = this.typingAt
      olAgent = 0
      olCounter = this.lastLocal!.counter + this.lastLocal!.len - 1
    } else if (index === 0) {
      leaf = tree.first
      at = 0
    } else {
      tree.findVisible(index - 1)
      leaf = tree.hitLeaf
      const span = leaf.spans[tree.hitIndex]!
      const offset = tree.hitOffset
      olAgent = span.agent
      olCounter = span.counter + offset
      if (offset < span.len - 1) {
        this.split(span, offset + 1)
        leaf = span.leaf as Leaf
        at = tree.indexInLeaf(span) + 1
      } else {
        at = tree.hitIndex + 1
      }
    }
    const right = at < leaf.spans.length ? leaf.spans[at]! : leaf.next?.spans[0]
    const orAgent = right ? right.agent : NONE
    const orCounter = right ? right.counter : 0
    // Encoded from a reused op: most keystrokes merge into the log's last entry, so most need no new one.
    const op = this.scratchInsert
    op.counter = counter
    op.text = text
    op.originLeftAgent = olAgent
    op.originLeftCounter = olCounter
    op.originRightAgent = orAgent
    op.originRightCounter = orCounter
    op.pos = index
    op.time = this.seconds()

    const last = this.lastLocal
    if (
      last !== null &&
      at > 0 &&
      leaf.spans[at - 1] === last &&
      !last.deleted &&
      last.counter + last.len === counter &&
      last.originRightAgent === orAgent &&
      last.originRightCounter === orCounter
    ) {
      // Typing on: the new characters continue the span just typed.
      last.append(text)
      tree.bump(leaf, text.length, text.length)
      this.typingLeaf = leaf
      this.typingAt = at
    } else {
      const span = new Span(0, counter, text, false, olAgent, olCounter, orAgent, orCounter)
      this.insertSpan(leaf, at, span)
      this.lastLocal = span
      this.typingLeaf = span.leaf as Leaf
      this.typingAt = tree.indexInLeaf(span) + 1
    }
    this.typingIndex = index + text.length
    this.advance(0, counter + text.length - 1)
    const batch =
      record === undefined
        ? encodeLocalOp(this.replicas, op)
        : encodeTextOps(this.replicas, [op], undefined, true, record)
    if (!this.mergeIntoLog(op)) {
      const entry = new InsertOp(0, counter, text, olAgent, olCounter, orAgent, orCounter)
      entry.pos = op.pos
      entry.time = op.time
      this.log.push(entry)
    }
    return batch
  }

  localDelete(index: number, length: number): Uint8Array {
    this.checkIndex(index, 'delete')
    if (!Number.isInteger(length) || length < 0 || index + length > this.length) {
      throw new RangeError(`delete: range ${index}+${length} is outside the text of length ${this.length}`)
    }
    if (this.splitsPair(index) || this.splitsPair(index + length)) {
      throw new RangeError(`delete: range ${index}+${length} splits a surrogate pair`)
    }
    if (length === 0) return encodeTextOps(this.replicas, [])
    this.typingIndex = -1

    const ops: DeleteOp[] = []
    const now = this.seconds()
    const tree = this.tree
    tree.findVisible(index)
    let span = tree.hitLeaf.spans[tree.hitIndex]!
    if (tree.hitOffset > 0) span = this.split(span, tree.hitOffset)
    let remaining = length
    for (;;) {
      if (!span.deleted) {
        if (span.len > remaining) this.split(span, remaining)
        const removed = span.text
        tree.markDeleted(span)
        remaining -= span.len
        const counter = this.versions[0]! + 1
        const op = new DeleteOp(0, counter, span.len, span.agent, span.counter, false)
        op.removed = removed
        op.pos = index
        op.time = now
        ops.push(op)
        this.advance(0, counter + span.len - 1)
        span = this.mergeTombstones(span)
      }
      if (remaining === 0) break
      span = this.nextSpan(span)!
    }
    const batch = ops.length === 1 ? encodeLocalOp(this.replicas, ops[0]!) : encodeTextOps(this.replicas, ops)
    for (const op of ops) if (!this.mergeIntoLog(op)) this.log.push(op)
    return batch
  }

  // ---- remote ops --------------------------------------------------------------------------------

  /** Applies a batch from elsewhere; `decoded`: its ops, if the caller decoded it already (once is enough). */
  applyRemote(batch: Uint8Array, decoded: DecodedOps = decodeTextOps(batch)): TextChange[] {
    const changes: TextChange[] = []
    if (decoded.dropped) this.markDropped(decoded.replicas, decoded.ops, decoded.dropped)
    this.applyDecoded(decoded.replicas, decoded.ops, changes)
    return changes
  }

  /**
   * The blocks of `replica` whose text was dropped here, with their hashes (undefined: none). Its
   * inserts there hold DROPPED_UNIT; a digest of its stream takes each block's hash instead.
   */
  droppedOf(replica: string): DroppedBlocks | undefined {
    const agent = this.replicaTable.lookup(replica)
    return agent === undefined ? undefined : this.dropped.get(agent)
  }

  /**
   * The whole blocks whose every character is deleted and whose text is still here, each with its
   * replica (what a retention policy chooses from: dropped-text.ts), and the deleted characters whose
   * text is kept. Reads the whole history.
   */
  droppable(): { candidates: (DropCandidate & { readonly replica: string })[]; deletedChars: number } {
    const { candidates, deletedChars } = findDroppable(this.fullLog(), this.versions, this.dropped)
    return {
      candidates: candidates.map((c) => ({ ...c, replica: this.replicas[c.agent]! })),
      deletedChars,
    }
  }

  /**
   * Drops the text of `blocks` (of `droppable()`), keeping their IDs and each block's hash (`hash`:
   * SHA-256 of its units, as the block form of a stream digest takes it). Reads the whole history; the
   * next save writes again the chunks whose ops changed. Throws CrdtDecodeError if the stored history
   * is damaged.
   */
  dropText(
    blocks: readonly Pick<DropCandidate, 'agent' | 'block'>[],
    hash: (units: Uint8Array) => Uint8Array,
  ): void {
    if (blocks.length === 0) return
    const log = this.fullLog()
    // A history stored before deletes kept their text learns it first (chunks are made again in form 3).
    if (log.some((op) => op.kind === 1 && op.removed === null)) restoreHistoryText(log, this.versions, null)
    const { hashes, changed } = dropBlocks(log, this.versions, blocks, hash)
    for (const [agent, kept] of hashes) {
      const known = this.dropped.get(agent) ?? new Map<number, Uint8Array>()
      for (const [block, h] of kept) known.set(block, h)
      this.dropped.set(agent, known)
    }
    // The chunks that hold changed ops are made again, each as it was cut (a store writes those only);
    // the others are kept as they are.
    const stored = this.stored
    if (stored === null) return
    let start = 0
    const chunks = stored.chunks.map((chunk, k) => {
      const ops = log.slice(start, (start += stored.counts[k]!))
      return ops.some((op) => changed.has(op)) ? encodePositionalChunk(this.replicas, ops, false) : chunk
    })
    this.stored = { ...stored, chunks }
  }

  /**
   * The parked ops, but those named dropped by the batch they came in: the name does not go with them
   * (into a saved state, a rebuild), and without it their placeholders would be taken for text. They
   * come again, named, by anti-entropy.
   */
  private parkedOps(): TextOp[] {
    const ops = this.pending.ops()
    return this.droppedOps ? ops.filter((op) => !this.droppedOps!.has(op)) : ops
  }

  /** Every dropped block here, by replica ID (undefined: none). */
  private droppedByReplica(): Map<string, DroppedBlocks> | undefined {
    if (this.dropped.size === 0) return undefined
    return new Map([...this.dropped].map(([agent, blocks]) => [this.replicas[agent]!, blocks]))
  }

  /** Notes the inserts of a batch that named their blocks dropped (their agents still the batch's). */
  private markDropped(
    replicas: readonly string[],
    ops: readonly TextOp[],
    dropped: ReadonlyMap<string, DroppedBlocks>,
  ): void {
    const marks = (this.droppedOps ??= new WeakMap())
    for (const op of ops) {
      const blocks = op.kind === 0 ? dropped.get(replicas[op.agent]!) : undefined
      if (blocks && droppedRanges(op as InsertOp, blocks).length > 0) marks.set(op, blocks)
    }
  }

  /**
   * Whether an insert named dropped may be taken now: only if deletes parked here name every one of
   * its characters in the dropped blocks, so that no relay can blank text that is still visible (the
   * seal checked the blocks' hashes, not that the text is gone). Then its text there becomes
   * DROPPED_UNIT and the blocks' hashes are kept. Else it waits, the next of its agent, for those
   * deletes (each delete parked strikes off what it names: `park`); it is never applied without them.
   */
  private takesDropped(original: TextOp, op: InsertOp): boolean {
    const blocks = this.droppedOps?.get(original)
    if (!blocks) return true
    const ranges = droppedRanges(op, blocks)
    if (ranges.length === 0) return true
    const waiting = this.uncovered.get(op.agent)
    if (waiting?.op !== original || waiting.from !== op.counter) {
      // Which of its characters no parked delete names yet: one look at them now, then each delete
      // parked later strikes off what it names (`park`), so a wait costs what the deletes name.
      const missing = new Uint8Array(op.length)
      let remaining = 0
      for (const [from, to] of ranges) {
        missing.fill(1, from - op.counter, to - op.counter + 1)
        remaining += to - from + 1
      }
      const entry: Uncovered = { op: original as InsertOp, from: op.counter, missing, remaining }
      this.pending.forEachDeleteOf(op.agent, (from, to) => strike(entry, from, to))
      if (entry.remaining > 0) {
        this.uncovered.set(op.agent, entry)
        return false
      }
    } else if (waiting.remaining > 0) return false
    this.uncovered.delete(op.agent)
    let text = op.text
    for (const [from, to] of ranges) {
      const a = from - op.counter
      const b = to - op.counter + 1
      text = text.slice(0, a) + DROPPED_UNIT.repeat(b - a) + text.slice(b)
    }
    op.text = text
    const kept = this.dropped.get(op.agent) ?? new Map<number, Uint8Array>()
    for (const [from, to] of ranges)
      for (let k = blockOf(from); k <= blockOf(to); k++) kept.set(k, blocks.get(k)!)
    this.dropped.set(op.agent, kept)
    return true
  }

  changesSince(v: VersionVector): Uint8Array {
    const ops: TextOp[] = []
    // A peer that has everything (the common case when it reconnects) gets the empty batch; one that
    // has every op of the undecoded history gets the ops after it. Neither decodes the history.
    if (!this.covers(v, this.versions)) {
      const old = this.oldLog
      const log = old !== null && this.covers(v, old.seen) ? this.log : this.fullLog()
      this.collectSince(v, log, ops)
    }
    // Catch-up batches carry when each op was made, so history stays true after time apart, and name
    // the blocks whose text was dropped here.
    const dropped = this.droppedByReplica()
    return encodeTextOps(
      this.replicas,
      ops,
      undefined,
      true,
      undefined,
      dropped && droppedFor(this.replicas, ops, dropped),
    )
  }

  /** Whether `v` holds every counter of `seen` (by agent). */
  private covers(v: VersionVector, seen: readonly number[]): boolean {
    for (let agent = 0; agent < seen.length; agent++) {
      const counter = seen[agent]!
      if (counter > 0 && !((v[this.replicas[agent]!] ?? 0) >= counter)) return false
    }
    return true
  }

  private collectSince(v: VersionVector, log: readonly TextOp[], ops: TextOp[]): void {
    for (const op of log) {
      const seen = v[this.replicas[op.agent]!] ?? 0
      const end = op.counter + op.length - 1
      if (end <= seen) continue
      ops.push(op.counter > seen ? op : op.withoutPrefix(seen - op.counter + 1))
    }
  }

  /**
   * This document with the ops of `replica` replaced by those of `version` (its ops of that replica
   * only; empty: none), rebuilt from every other op, parked ones included: how every peer takes the one
   * version of an equivocating device's replica that all of them agree on (docs/PROTOCOL.md,
   * "Equivocation"). Ops that named characters this version lacks stay parked. Same replica ID, so
   * this document's own counters go on. Integrated in canonical order, as `canonical`.
   */
  rebuiltWith(replica: string, version: Uint8Array, options: TextDocOptions = {}): TextDoc {
    const theirs = decodeTextOps(version)
    const ops = theirs.ops.filter((op) => theirs.replicas[op.agent] === replica)
    return this.rebuilt({ replica, replicas: theirs.replicas, ops }, options)
  }

  /**
   * This document rebuilt from the same ops, parked ones included, integrated in canonical order
   * (canonical-order.ts) instead of the order they arrived in here: the same sequence on every replica
   * that holds the same ops, even where inserts with crafted origins made arrival order matter.
   */
  canonical(options: TextDocOptions = {}): TextDoc {
    return this.rebuilt(null, options)
  }

  private rebuilt(
    replace: { readonly replica: string; readonly replicas: string[]; readonly ops: TextOp[] } | null,
    options: TextDocOptions,
  ): TextDoc {
    const kept = [...this.fullLog(), ...this.parkedOps()].filter(
      (op) => replace === null || this.replicas[op.agent] !== replace.replica,
    )
    // Fresh copies: canonicalOrder joins ops in place, and applyDecoded maps agents in place.
    const copy = decodeTextOps(encodeTextOps(this.replicas, kept, undefined, true))
    const replicas = copy.replicas
    const ops = copy.ops
    if (replace !== null) {
      const map = replace.replicas.map((r) => {
        const at = replicas.indexOf(r)
        return at >= 0 ? at : replicas.push(r) - 1
      })
      this.mapAgents(map, replace.ops)
      ops.push(...replace.ops)
    }
    const doc = new TextDoc(this.replica, options)
    const canonical = canonicalOrder(replicas, ops)
    doc.applyDecoded(replicas, canonical.ops, null)
    // Their inserts hold the placeholders: the blocks' hashes go with them.
    for (const [agent, blocks] of this.dropped)
      doc.dropped.set(doc.replicaTable.agent(this.replicas[agent]!), new Map(blocks))
    // The log keeps the pieces a run was joined from, each with its time, for history.
    if (canonical.pieces.size > 0) {
      const map = doc.replicaTable.agentsOf(replicas) // as applyDecoded mapped the ops
      for (const list of canonical.pieces.values()) doc.mapAgents(map, list)
      doc.log = doc.log.flatMap((op) => canonical.pieces.get(op) ?? op)
    }
    return doc
  }

  /**
   * Visits every character, tombstones included, in sequence order, as runs of consecutive IDs of one
   * replica (the longest such runs, so the visits do not depend on how spans happen to be cut). Two
   * replicas with the same ops visit the same runs exactly when they hold the same sequence.
   */
  forEachRun(visit: (replica: string, counter: number, length: number) => void): void {
    let agent = NONE
    let counter = 0
    let length = 0
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      for (const span of leaf.spans) {
        if (span.agent === agent && span.counter === counter + length) {
          length += span.len
          continue
        }
        if (length > 0) visit(this.replicas[agent]!, counter, length)
        agent = span.agent
        counter = span.counter
        length = span.len
      }
    }
    if (length > 0) visit(this.replicas[agent]!, counter, length)
  }

  // ---- persistence -------------------------------------------------------------------------------

  save(): Uint8Array {
    const pending = this.pending.size > 0 ? encodeTextOps(this.replicas, this.pending.ops()) : EMPTY_PENDING
    return encodeTextOps(this.replicas, this.fullLog(), { pending })
  }

  static load(bytes: Uint8Array, replica: string, options: TextDocOptions = {}): TextDoc {
    const decoded = decodeTextOps(bytes, true)
    const doc = new TextDoc(replica, options)
    doc.applyDecoded(decoded.replicas, decoded.ops, null)
    if (doc.pending.size > 0) throw new CrdtDecodeError('snapshot ops are not in causal order')
    if (decoded.pending) doc.applyRemote(decoded.pending)
    return doc
  }

  /**
   * The document as it is (text-state.ts): replicas, version, spans in document order with their
   * origins, visible text, parked ops, and the op log still encoded. `loadState` rebuilds from it a
   * document that behaves exactly as this one: same text, version, history, and the same result for
   * any op applied later. The log chunks of a history loaded and never decoded are kept as they are.
   */
  saveState(): Uint8Array {
    return this.encodeState(false).state
  }

  /**
   * `saveState()` with the history's chunks kept apart, all but the last op's: `state` names them and
   * `history` holds them, oldest first, for a store to keep in files of their own, each written once. A
   * chunk not decoded since the load (or the last save) is returned as the same bytes every time; most
   * saves add one chunk (the ops since). `loadState(state, replica, { history })` takes them back.
   */
  saveStateApart(options: { readonly transient?: boolean } = {}): {
    readonly state: Uint8Array
    readonly history: readonly Uint8Array[]
  } {
    return this.encodeState(true, options.transient === true)
  }

  /**
   * `transient`: for bytes not kept (a window's snapshot, window-state.ts), so nothing made here is
   * kept for the next save either: no chunk joined, none remembered as saved (a store's next save
   * encodes them as it packs them).
   */
  private encodeState(apart: boolean, transient = false): { state: Uint8Array; history: Uint8Array[] } {
    // The chunks of the old history and those saved since, one for the ops after them but the last,
    // one for the last. (A state loaded and saved unchanged adds no chunk, and comes out as it went
    // in.) Past the chunks a state may hold, the old ones are joined, and if the saved ones alone are
    // too many (a session of dozens of compactions), the ops they hold are encoded afresh as one.
    const room = MAX_LOG_CHUNKS - (this.log.length > 1 ? 2 : 1)
    if (
      !transient &&
      this.stored !== null &&
      this.stored.chunks.length > room - (this.oldLog === null ? 0 : 1)
    ) {
      this.stored = null
    }
    if (!transient && this.oldLog !== null) this.joinChunks(room - (this.stored?.chunks.length ?? 0))
    // A delete is stored with the text it removed: one decoded from a history stored before deletes
    // kept it (as the last op of an older state is) learns it from the whole history.
    if (this.unsaved().some((op) => op.kind === 1 && op.removed === null)) {
      if (this.oldLog !== null) this.fullLog()
      restoreHistoryText(this.log, this.versions, null)
    }
    const spans: Span[] = []
    const leaves: number[] = []
    let lastLocal = -1
    for (let leaf: Leaf | null = this.tree.first; leaf; leaf = leaf.next) {
      if (leaf.spans.length === 0) continue // only the root of an empty document
      leaves.push(leaf.spans.length)
      for (const span of leaf.spans) {
        // Typing extends only a visible span of this replica: any other is the same as none.
        if (span === this.lastLocal && !span.deleted && span.agent === 0) lastLocal = spans.length
        spans.push(span)
      }
    }
    const text = this.tree.text()
    const stored = this.stored
    const log = [...(this.oldLog?.chunks ?? []), ...(stored?.chunks ?? [])]
    const tail = this.unsaved()
    // The last op gets a chunk of its own, which loadState decodes at once (see OldLog): one that
    // decodes alone. The others leave out what the state keeps anyway (positional-chunk.ts).
    if (tail.length > 1) {
      const chunk = encodePositionalChunk(this.replicas, tail.slice(0, -1), false)
      log.push(chunk)
      if (!transient) {
        this.stored = {
          chunks: [...(stored?.chunks ?? []), chunk],
          counts: [...(stored?.counts ?? []), tail.length - 1],
          ops: this.log.length - 1,
        }
      }
    }
    // Apart: all of them but the last op's, which stays in the state (loadState decodes it at once).
    const history = apart ? log.splice(0) : []
    if (tail.length > 0) log.push(encodePositionalChunk(this.replicas, tail.slice(-1), true))
    const state = encodeTextState({
      replicas: this.replicas,
      seen: this.versions,
      spans,
      leaves,
      lastLocal,
      text,
      loneSurrogates: this.hasSurrogates && hasLoneSurrogate(text),
      pending: this.pending.parked().filter((p) => !this.droppedOps?.has(p.op)),
      log: [...history.map(() => null), ...log],
      dropped: [...this.dropped].flatMap(([agent, blocks]) =>
        [...blocks].map(([block, hash]) => ({ agent, block, hash })),
      ),
    })
    return { state, history }
  }

  /** The ops of the log that no chunk holds yet (see `stored`). */
  private unsaved(): TextOp[] {
    return this.stored === null ? this.log : this.log.slice(this.stored.ops)
  }

  /**
   * A document from `saveState()` bytes, under `replica` (a fresh one, or the saver's to continue as
   * it). O(spans): the tree and the ID index are built directly, and the history stays encoded until
   * it is read. Validates the bytes as hostile (CrdtDecodeError); the history is checked against the
   * version when decoded, and a method that needs it throws CrdtDecodeError if it does not match.
   */
  static loadState(
    bytes: Uint8Array,
    replica: string,
    options: TextDocOptions & { readonly history?: readonly Uint8Array[] } = {},
  ): TextDoc {
    const doc = new TextDoc(replica, options)
    const table = doc.replicaTable
    const state = decodeTextState(bytes, (replicas) => replicas.map((r) => table.agent(r)))
    const map = state.agents
    state.seen.forEach((counter, i) => (doc.versions[map[i]!] = counter))
    doc.hasSurrogates = !state.ascii && SURROGATE.test(state.text)
    doc.sequence = null
    doc.encoded = { text: state.text, decode: () => doc.adoptSpans(state) }

    const pending = state.pending
    doc.mapAgents(
      pending.replicas.map((r) => table.agent(r)),
      pending.ops,
    )
    pending.ops.forEach((op, i) => doc.pending.park(op, state.awaited[i]!.agent, state.awaited[i]!.counter))
    for (const { agent, block, hash } of state.dropped) {
      const blocks = doc.dropped.get(agent) ?? new Map<number, Uint8Array>()
      doc.dropped.set(agent, blocks.set(block, hash))
    }

    const apart = options.history ?? []
    let given = 0
    const chunks: Uint8Array[] = []
    for (const chunk of state.log) {
      const c = chunk ?? apart[given++]
      if (c === undefined || c.length === 0) break
      chunks.push(c)
    }
    if (chunks.length !== state.log.length || given !== apart.length) {
      const wanted = state.log.filter((c) => c === null).length
      throw new CrdtDecodeError(
        `the state keeps ${wanted} history chunks apart, and ${apart.length} were given`,
      )
    }
    const seen = doc.versions.slice()
    if (chunks.length === 0) {
      if (seen.some((c) => c > 0)) throw new CrdtDecodeError('a text state without its history')
      return doc
    }
    // The last chunk now: it holds the log's last op, which a local edit may extend (mergeIntoLog).
    // Its ops are each replica's last ones: they end at the version, and the older chunks hold the
    // counters before them.
    const lastChunk = chunks[chunks.length - 1]!
    if (!decodesAlone(lastChunk))
      throw new CrdtDecodeError("a state's last log chunk that does not decode alone")
    const eager = doc.decodeChunk(lastChunk)
    const next = seen.map(() => 0)
    for (const op of eager) {
      const expected = next[op.agent]!
      if (expected === 0) seen[op.agent] = op.counter - 1
      else if (op.counter !== expected) throw new CrdtDecodeError('the stored history is not contiguous')
      next[op.agent] = op.counter + op.length
    }
    next.forEach((end, agent) => {
      if (end !== 0 && end !== doc.versions[agent]! + 1) {
        throw new CrdtDecodeError('the stored history does not end at the version')
      }
    })
    doc.log = eager
    doc.oldLog = { chunks: chunks.slice(0, -1), seen }
    return doc
  }

  /**
   * Builds the tree and the ID index from a loaded state's spans, which stay in columns, each leaf made
   * into Span objects when first read (loaded-spans.ts). Throws CrdtDecodeError, changing nothing, if
   * the spans do not decode.
   */
  private adoptSpans(state: DecodedTextState): void {
    const columns = state.spans()
    const tree = new SpanTree()
    const ids = this.index
    const loaded = new LoadedSpans(columns, state.text, state.leaves, state.agents, (span) =>
      ids.insert(span),
    )
    tree.buildLoaded(loaded)
    ids.adopt(loaded)
    // Typing extends the same span as it would have in the saver, if this is the saver's replica.
    const k = state.lastLocal
    if (k >= 0 && state.agents[columns.agent[k]!] === 0 && columns.deleted[k] === 0) {
      this.lastLocal = loaded.span(k)
    }
    this.sequence = tree
  }

  /**
   * Joins chunks of the undecoded history until at most `max` remain, each time the two adjacent ones
   * smallest together: a compaction then decodes and encodes about as much as it adds, not the history.
   */
  private joinChunks(max: number): void {
    const old = this.oldLog!
    if (old.chunks.length <= max) return
    const chunks = [...old.chunks]
    while (chunks.length > Math.max(1, max)) {
      let best = 0
      for (let i = 1; i + 1 < chunks.length; i++) {
        if (chunks[i]!.length + chunks[i + 1]!.length < chunks[best]!.length + chunks[best + 1]!.length)
          best = i
      }
      const [a, b] = [chunks[best]!, chunks[best + 1]!]
      // A chunk stored before form 3 and one of form 3 join only through the decoded history: the
      // older one's deletes do not say what they removed, which form 3 must.
      if (isPositional(a) !== isPositional(b)) {
        this.fullLog()
        return
      }
      const ops = this.decodeChunk(a).concat(this.decodeChunk(b))
      chunks.splice(
        best,
        2,
        isPositional(a)
          ? encodePositionalChunk(this.replicas, ops, false)
          : encodeLogChunk(this.replicas, ops),
      )
    }
    old.chunks = chunks
  }

  /** A log chunk's ops, their agents mapped to this document's (every replica must be known here). */
  private decodeChunk(chunk: Uint8Array): TextOp[] {
    const decoded = decodeLogChunk(chunk)
    const map = decoded.replicas.map((r) => {
      const agent = this.replicaTable.lookup(r)
      if (agent === undefined) throw new CrdtDecodeError('the stored history names an unknown replica')
      return agent
    })
    this.mapAgents(map, decoded.ops)
    return decoded.ops
  }

  /** Maps decoded ops' agents (batch table indices) through `map` to this document's agents. */
  private mapAgents(map: readonly number[], ops: readonly TextOp[]): void {
    for (const op of ops) {
      op.agent = map[op.agent]!
      if (op.kind === 0) {
        if (op.originLeftAgent !== NONE) op.originLeftAgent = map[op.originLeftAgent]!
        if (op.originRightAgent !== NONE) op.originRightAgent = map[op.originRightAgent]!
      } else {
        op.targetAgent = map[op.targetAgent]!
      }
    }
  }

  /**
   * The whole op log, decoding the part `loadState` left encoded on first use. It must hold exactly
   * the counters `oldLog.seen` says, per replica in order from 1, else CrdtDecodeError and nothing
   * changes.
   */
  private fullLog(): TextOp[] {
    const old = this.oldLog
    if (old === null) return this.log
    const ops: TextOp[] = []
    /** Of the ops, those of form-3 chunks that do not decode alone: the replay finds their IDs. */
    const lean: boolean[] = []
    const next = this.versions.map(() => 1)
    const counts: number[] = []
    for (const chunk of old.chunks) {
      const alone = decodesAlone(chunk)
      const decoded = this.decodeChunk(chunk)
      for (const op of decoded) {
        lean.push(!alone)
        if (op.counter !== next[op.agent]) throw new CrdtDecodeError('the stored history is not contiguous')
        next[op.agent] = op.counter + op.length
        ops.push(op)
      }
      counts.push(decoded.length)
    }
    next.forEach((end, agent) => {
      if (end !== (old.seen[agent] ?? 0) + 1)
        throw new CrdtDecodeError('the stored history does not match the version')
    })
    const log = ops.concat(this.log)
    this.restoreText(log, lean)
    const saved = this.stored
    this.stored = {
      chunks: [...old.chunks, ...(saved?.chunks ?? [])],
      counts: [...counts, ...(saved?.counts ?? [])],
      ops: ops.length + (saved?.ops ?? 0),
    }
    this.log = log
    this.oldLog = null
    return log
  }

  /**
   * Gives a decoded log the text its chunks left out (history-text.ts). The `lean` ops (of form-3
   * chunks that do not decode alone) get their IDs by being replayed, in order, on a fresh document,
   * which also gives the visible characters' order, and so which of them the visible text's
   * characters are. Throws CrdtDecodeError if the history does not rebuild this document; only the
   * lean ops, decoded afresh for this, are changed then.
   */
  private restoreText(log: TextOp[], lean: readonly boolean[]): void {
    // Chunks of the older forms hold every insert's text. (What their deletes removed is found when a
    // save needs it: encodeState.)
    if (!lean.includes(true)) return
    checkHistorySize(this.versions)
    const textless = log.filter(isTextless)
    const replay = new TextDoc(this.replica, { clock: this.clock })
    for (const replica of this.replicas) replay.replicaTable.agent(replica)
    // Each character's text, as pieces: what each delete removed, then the visible text.
    const pieces = new TextPieces(this.replicas.length)
    replay.removedRuns = (op, runs) => pieces.addRemoved(op, runs)
    // Placeholders of the right length: the replay needs where characters go, not what they are.
    for (const op of textless) op.text = placeholder(op.length)
    // Every other op is replayed by its IDs, as a copy: a replay that goes wrong (a damaged chunk
    // before it) must not rewrite the origins of the ops this document sends its peers.
    const copy = (op: TextOp): TextOp => {
      const c = op.prefix(op.length)
      if (c.kind === 1) c.removed = (op as DeleteOp).removed
      return c
    }
    replay.applyDecoded(
      this.replicas.slice(),
      log.map((op, i) => (lean[i] === true ? op : copy(op))),
      null,
    )
    if (
      replay.pending.size > 0 ||
      replay.refused > 0 ||
      replay.length !== this.length ||
      replay.versions.some((v, a) => v !== this.versions[a])
    ) {
      throw new CrdtDecodeError('the stored history does not rebuild this document')
    }
    // Where this document's spans are decoded (and so checked) already, the replay must have rebuilt
    // them exactly. (Not where they are still encoded: a repair from this history is what runs then,
    // or nothing has needed them yet.)
    if (this.sequence !== null && !sameRuns(replay, this)) {
      throw new CrdtDecodeError('the stored history does not rebuild this document')
    }
    const text = this.toString()
    const visible = {
      runs: (visit: (agent: number, counter: number, length: number) => void): void => {
        for (let leaf: Leaf | null = replay.tree.first; leaf; leaf = leaf.next) {
          for (const span of leaf.spans) if (!span.deleted) visit(span.agent, span.counter, span.len)
        }
      },
      text,
    }
    // A history stored before deletes kept their text finds it character by character (once, for a
    // document stored by an older version); else each insert's text is a few pieces.
    if (pieces.unknown) restoreHistoryText(log, this.versions, visible, textless)
    else {
      pieces.addVisible(visible)
      pieces.fill(textless)
    }
  }

  /**
   * Every op applied here, in the order applied (a causal order): who made it (replica), when
   * (seconds; made here, or as carried by catch-up batches, else when received) and what it did.
   */
  history(): HistoryEntry[] {
    return this.fullLog().map((op) =>
      op.kind === 0
        ? {
            kind: 'insert',
            replica: this.replicas[op.agent]!,
            counter: op.counter,
            length: op.length,
            time: op.time,
            text: op.text,
          }
        : {
            kind: 'delete',
            replica: this.replicas[op.agent]!,
            counter: op.counter,
            length: op.length,
            time: op.time,
            target: { replica: this.replicas[op.targetAgent]!, counter: op.targetCounter },
          },
    )
  }

  // ---- IDs and positions, for cursors anchored to characters -------------------------------------

  /** The ID of the visible character at `index`. */
  idAt(index: number): CharId {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`idAt: index ${index} outside the text of length ${this.length}`)
    }
    this.tree.findVisible(index)
    const span = this.tree.hitLeaf.spans[this.tree.hitIndex]!
    return { replica: this.replicas[span.agent]!, counter: span.counter + this.tree.hitOffset }
  }

  /**
   * The visible position of a character: its index if it is visible, else the index where it would
   * be (the position after the visible characters before it). Undefined if the ID is unknown here.
   */
  indexOfId(id: CharId): number | undefined {
    const agent = this.replicaTable.lookup(id.replica)
    if (agent === undefined) return undefined
    const span = this.ids.find(agent, id.counter)
    if (!span) return undefined
    return this.tree.visibleIndexOf(span) + (span.deleted ? 0 : id.counter - span.counter)
  }

  /**
   * A cursor position as a CRDT anchor: the ID of the character before it, or null at the start. It
   * stays right while others type: text inserted before the anchor moves it along with the text.
   */
  cursorAnchor(index: number): CharId | null {
    this.checkIndex(index, 'cursorAnchor')
    return index === 0 ? null : this.idAt(index - 1)
  }

  /**
   * The position of a cursor anchored after `anchor`: right after that character, or where it was if
   * it has been deleted since. Undefined if the ID is unknown here (its op has not arrived yet).
   */
  cursorIndex(anchor: CharId | null): number | undefined {
    if (anchor === null) return 0
    const agent = this.replicaTable.lookup(anchor.replica)
    if (agent === undefined) return undefined
    const span = this.ids.find(agent, anchor.counter)
    if (!span) return undefined
    const start = this.tree.visibleIndexOf(span)
    return span.deleted ? start : start + anchor.counter - span.counter + 1
  }

  /**
   * The stretches of visible text inserted by ops that `v` does not hold (what came after that
   * version), in document order, touching stretches joined.
   */
  insertedSince(v: VersionVector): { from: number; to: number }[] {
    const out: { from: number; to: number }[] = []
    const replicas = this.replicas
    let at = 0
    this.tree.forEachVisible((span) => {
      const held = v[replicas[span.agent]!] ?? 0
      // The span's characters have consecutive counters: those up to `held` were there before.
      const old = Math.max(0, Math.min(span.len, held - span.counter + 1))
      if (old < span.len) {
        const last = out[out.length - 1]
        if (last && last.to === at + old) last.to = at + span.len
        else out.push({ from: at + old, to: at + span.len })
      }
      at += span.len
    })
    return out
  }

  /** Who wrote the visible text: consecutive runs of characters by the replica that inserted them. */
  authorRuns(): { replica: string; length: number }[] {
    const runs: { replica: string; length: number }[] = []
    const replicas = this.replicas
    let last: { replica: string; length: number } | undefined
    this.tree.forEachVisible((span) => {
      const replica = replicas[span.agent]!
      if (last && last.replica === replica) last.length += span.len
      else runs.push((last = { replica, length: span.len }))
    })
    return runs
  }

  /** When the character `id` was inserted (seconds since the epoch; 0 unknown), from the op log. */
  insertedAt(id: CharId): number {
    const agent = this.replicaTable.lookup(id.replica)
    if (agent === undefined) return 0
    // One op at most holds a given ID: the recent ops first, the undecoded history only if it may be there.
    const time = insertTime(this.log, agent, id.counter)
    if (time >= 0) return time
    const old = this.oldLog
    if (old === null || !(id.counter <= (old.seen[agent] ?? 0))) return 0
    return Math.max(0, insertTime(this.fullLog(), agent, id.counter))
  }

  /**
   * The text as it was after the first `steps` entries of `history()` (which is in a causal order), for
   * showing a past version. Builds a throwaway replica: O(steps log n).
   */
  textAfter(steps: number): string {
    const log = this.fullLog()
    if (!Number.isInteger(steps) || steps < 0 || steps > log.length) {
      throw new RangeError(`textAfter: ${steps} is not in 0..${log.length}`)
    }
    const past = new TextDoc(this.replica)
    if (steps > 0) past.applyRemote(encodeTextOps(this.replicas, log.slice(0, steps)))
    return past.toString()
  }

  /** How many entries `history()` has: a point in it to fork at later (`forkAfter`). */
  historyLength(): number {
    return this.fullLog().length
  }

  /**
   * The highest counter of `replica` among the first `steps` entries of `history()` (0: none): a fork
   * there (`forkAfter`) holds every op of `replica` when this equals `seenOf(replica)`. O(steps).
   */
  seenAfter(steps: number, replica: string): number {
    const agent = this.replicaTable.lookup(replica)
    if (agent === undefined || steps <= 0) return 0
    const log = this.fullLog()
    let seen = 0
    for (let i = 0, n = Math.min(steps, log.length); i < n; i++) {
      const op = log[i]!
      if (op.agent === agent) seen = Math.max(seen, op.counter + op.length - 1)
    }
    return seen
  }

  /**
   * A replica under `replica` holding the first `steps` entries of `history()`: the document as it
   * was then, for merging a change made against that text (a file changed on disk since Meshpad wrote
   * it). O(steps log n).
   */
  forkAfter(steps: number, replica: string): TextDoc {
    const log = this.fullLog()
    if (!Number.isInteger(steps) || steps < 0 || steps > log.length) {
      throw new RangeError(`forkAfter: ${steps} is not in 0..${log.length}`)
    }
    const past = new TextDoc(replica)
    if (steps > 0) past.applyRemote(encodeTextOps(this.replicas, log.slice(0, steps)))
    return past
  }

  // ---- internals ---------------------------------------------------------------------------------

  private checkIndex(index: number, what: string): void {
    if (!Number.isInteger(index) || index < 0 || index > this.length) {
      throw new RangeError(`${what}: index ${index} is outside the text of length ${this.length}`)
    }
  }

  /** Whether a boundary at visible `index` falls between the two halves of a surrogate pair. */
  private splitsPair(index: number): boolean {
    if (!this.hasSurrogates || index === 0 || index >= this.length) return false
    const tree = this.tree
    tree.findVisible(index - 1)
    const before = tree.hitLeaf.spans[tree.hitIndex]!.text.charCodeAt(tree.hitOffset)
    if (!isHigh(before)) return false
    tree.findVisible(index)
    return isLow(tree.hitLeaf.spans[tree.hitIndex]!.text.charCodeAt(tree.hitOffset))
  }

  /** Puts a new span at `at` of `leaf`, in the tree, the ID index and (if it joins one) a sibling run. */
  private insertSpan(leaf: Leaf, at: number, span: Span): void {
    const next = at < leaf.spans.length ? leaf.spans[at] : leaf.next?.spans[0]
    this.tree.insert(leaf, at, span)
    this.ids.append(span)
    this.runs.inserted(span, next)
  }

  /** Splits `span` at `offset` in the tree, the ID index and its sibling run; returns the right part. */
  private split(span: Span, offset: number): Span {
    const leaf = span.leaf as Leaf
    const i = this.tree.indexInLeaf(span)
    const next = i + 1 < leaf.spans.length ? leaf.spans[i + 1] : leaf.next?.spans[0]
    const right = this.tree.splitSpan(leaf, i, offset)
    this.ids.insertAfter(span, right)
    this.runs.inserted(right, next)
    return right
  }

  /**
   * Joins a fresh tombstone with tombstone neighbours that continue the same run, so that deleting a
   * word letter by letter leaves one span, not one per letter. Returns the span that now holds it.
   */
  private mergeTombstones(span: Span): Span {
    const leaf = span.leaf as Leaf
    const i = this.tree.indexInLeaf(span)
    const next = leaf.spans[i + 1]
    if (next && span.canAbsorb(next)) {
      span.absorb(next)
      this.ids.remove(next)
      this.runs.removed(next)
      leaf.spans.splice(i + 1, 1)
      if (this.lastLocal === next) this.lastLocal = span
    }
    const prev = i > 0 ? leaf.spans[i - 1] : undefined
    if (prev && prev.canAbsorb(span)) {
      prev.absorb(span)
      this.ids.remove(span)
      this.runs.removed(span)
      leaf.spans.splice(i, 1)
      if (this.lastLocal === span) this.lastLocal = prev
      return prev
    }
    return span
  }

  private nextSpan(span: Span): Span | undefined {
    const leaf = span.leaf as Leaf
    const i = this.tree.indexInLeaf(span)
    return i + 1 < leaf.spans.length ? leaf.spans[i + 1] : leaf.next?.spans[0]
  }

  /** Appends a local op to the log, merging it into the previous one when it continues it. */
  /**
   * Merges a local op into the log's last entry when it continues it; false if it must be appended
   * (the caller appends an op the log may own and merge into later).
   */
  private mergeIntoLog(op: TextOp): boolean {
    const prev = this.log[this.log.length - 1]
    if (
      prev &&
      prev.agent === 0 &&
      prev.pos >= 0 &&
      prev.counter + prev.length === op.counter &&
      op.time - prev.time < MERGE_WINDOW_S
    ) {
      if (prev.kind === 0 && op.kind === 0) {
        if (
          op.originLeftAgent === 0 &&
          op.originLeftCounter === op.counter - 1 &&
          op.originRightAgent === prev.originRightAgent &&
          op.originRightCounter === prev.originRightCounter
        ) {
          prev.append(op.text)
          return true
        }
      } else if (prev.kind === 1 && op.kind === 1 && prev.targetAgent === op.targetAgent) {
        // Merged deletes must stay one contiguous visible range, as snapshots replay them by position.
        if (!prev.backward && op.pos === prev.pos && op.targetCounter === prev.targetCounter + prev.length) {
          prev.length += op.length // forward delete, or a selection deleted across spans
          prev.removed = joined(prev.removed, op.removed)
          return true
        }
        if (
          (prev.backward || prev.length === 1) &&
          op.length === 1 &&
          op.pos === prev.pos - 1 &&
          op.targetCounter === prev.targetCounter - 1
        ) {
          prev.backward = true // backspacing
          prev.targetCounter -= 1
          prev.length += 1
          prev.pos = op.pos
          prev.removed = joined(op.removed, prev.removed)
          return true
        }
      }
    }
    return false
  }

  /**
   * Maps decoded ops onto this document's replica table and applies every op that is causally ready,
   * parking the rest. `changes` collects visible changes (null while loading, where none are needed).
   */
  private applyDecoded(replicas: string[], ops: TextOp[], changes: TextChange[] | null): void {
    // A loaded state's IDs are checked when first needed (span-columns.ts): before anything applies.
    this.checkedState(() => this.ids.ready())
    if (changes && this.pending.size + ops.length > MAX_PENDING_OPS) {
      throw new RangeError('TextDoc: too many ops waiting for missing dependencies; batch refused')
    }
    const map = this.replicaTable.agentsOf(replicas)
    const now = changes ? this.seconds() : 0
    for (const op of ops) {
      op.agent = map[op.agent]!
      if (op.time === 0) op.time = now // a live batch: it was made about now
      if (op.kind === 0) {
        if (op.originLeftAgent !== NONE) op.originLeftAgent = map[op.originLeftAgent]!
        if (op.originRightAgent !== NONE) op.originRightAgent = map[op.originRightAgent]!
      } else {
        op.targetAgent = map[op.targetAgent]!
      }
    }
    let progressed = false
    for (const op of ops) {
      if (this.tryApply(op, changes)) {
        progressed = true
        if (this.pending.size > 0) this.wake(op.agent, changes)
      } else this.park(op)
    }
    // Inserts named dropped that deletes now cover (`takesDropped`); waking their deletes may cover more.
    for (const op of this.covered) if (this.tryApply(op, changes)) this.wake(op.agent, changes)
    this.covered = []
    // Local edits advance our own counter without waking anything (they report no remote changes).
    // As the full rescan this replaced did, release what waited on them once a batch makes progress.
    if (progressed && this.pending.size > 0) this.wake(0, changes)
  }

  /** Parks an op that `tryApply` just refused, on the ID it found missing. */
  private park(op: TextOp): void {
    if (this.missingAgent === NONE && this.missingCounter === COVER) return // held in `uncovered`
    this.pending.park(op, this.missingAgent, this.missingCounter)
    if (op.kind === 0 || this.uncovered.size === 0) return
    const waiting = this.uncovered.get(op.targetAgent)
    if (waiting && waiting.remaining > 0) {
      strike(waiting, op.targetCounter, op.targetCounter + op.length - 1)
      if (waiting.remaining === 0) this.covered.push(waiting.op)
    }
  }

  /**
   * Retries the parked ops waiting for ops of `agent` that are now applied, then, as those apply,
   * the ops waiting for them in turn. Ops still lacking a dependency park again on the next one.
   * A loop over a queue, not recursion: a chain of 100,000 parked ops must not overflow the stack.
   */
  private wake(agent: number, changes: TextChange[] | null): void {
    const queue: TextOp[] = []
    this.pending.release(agent, this.versions[agent]!, queue)
    // An array iterator also visits what is pushed while it runs: the ops released along the way.
    for (const op of queue) {
      if (this.tryApply(op, changes)) this.pending.release(op.agent, this.versions[op.agent]!, queue)
      else this.park(op)
    }
  }

  private known(agent: number, counter: number): boolean {
    return agent === NONE || counter <= this.versions[agent]!
  }

  /** Notes the first dependency `tryApply` found missing (for `park`) and refuses the op. */
  private missing(agent: number, counter: number): false {
    this.missingAgent = agent
    this.missingCounter = counter
    return false
  }

  /**
   * Applies `op` if it is new and ready; true if it is now applied (or was already). False if a
   * dependency is missing, which it notes with `missing`: exactly what it checks here is what the op
   * is parked on, so an op is retried only once its next missing dependency has arrived.
   */
  private tryApply(op: TextOp, changes: TextChange[] | null): boolean {
    const original = op
    const seen = this.versions[op.agent]!
    if (op.counter + op.length - 1 <= seen) return true
    if (op.counter > seen + 1) return this.missing(op.agent, op.counter - 1)
    if (op.counter <= seen) op = op.withoutPrefix(seen - op.counter + 1)
    this.typingIndex = -1
    if (op.pos >= 0) {
      // Only snapshots carry positional ops, in the order they were made: replay them where they were.
      if (op.kind === 0) this.replayInsert(op)
      else this.replayDelete(op)
    } else if (op.kind === 0) {
      if (!this.known(op.originLeftAgent, op.originLeftCounter)) {
        return this.missing(op.originLeftAgent, op.originLeftCounter)
      }
      if (!this.known(op.originRightAgent, op.originRightCounter)) {
        return this.missing(op.originRightAgent, op.originRightCounter)
      }
      if (this.droppedOps !== null && !this.takesDropped(original, op)) return this.missing(NONE, COVER)
      if (!this.integrateInsert(op, changes)) {
        // Malformed: no honest replica makes it, and every replica refuses it alike (see
        // integrateInsert). Not applied, not logged, its counter not counted: its replica's later ops
        // wait for it, within the bounds on parked ops.
        this.refused++
        if (this.refusedBy.size < MAX_REFUSED_NAMED) this.refusedBy.add(this.replicas[op.agent]!)
        return true
      }
    } else {
      const last = op.targetCounter + op.length - 1
      if (!this.known(op.targetAgent, last)) return this.missing(op.targetAgent, last)
      this.integrateDelete(op, changes)
    }
    this.advance(op.agent, op.counter + op.length - 1)
    this.log.push(op)
    if (op.agent === 0) this.lastLocal = null
    return true
  }

  /** A new span holding an insert op's characters. */
  private spanFor(op: InsertOp): Span {
    if (!this.hasSurrogates && SURROGATE.test(op.text)) this.hasSurrogates = true
    const o = op
    return new Span(
      o.agent,
      o.counter,
      o.text,
      false,
      o.originLeftAgent,
      o.originLeftCounter,
      o.originRightAgent,
      o.originRightCounter,
    )
  }

  /** Re-inserts a snapshot op made on its replica at visible index `op.pos`, recovering its origins. */
  private replayInsert(op: InsertOp): void {
    const tree = this.tree
    if (op.pos > tree.visibleLength) throw new CrdtDecodeError('snapshot insert beyond the text')
    let leaf = tree.first
    let at = 0
    if (op.pos > 0) {
      tree.findVisible(op.pos - 1)
      leaf = tree.hitLeaf
      const span = leaf.spans[tree.hitIndex]!
      op.originLeftAgent = span.agent
      op.originLeftCounter = span.counter + tree.hitOffset
      at = tree.hitIndex + 1
      if (tree.hitOffset < span.len - 1) {
        this.split(span, tree.hitOffset + 1)
        leaf = span.leaf as Leaf
        at = tree.indexInLeaf(span) + 1
      }
    }
    const right = at < leaf.spans.length ? leaf.spans[at]! : leaf.next?.spans[0]
    if (right) {
      op.originRightAgent = right.agent
      op.originRightCounter = right.counter
    }
    this.insertSpan(leaf, at, this.spanFor(op))
  }

  /** Re-deletes a snapshot op: `op.length` visible characters from `op.pos`, one run of IDs. */
  private replayDelete(op: DeleteOp): void {
    const tree = this.tree
    if (op.pos + op.length > tree.visibleLength) throw new CrdtDecodeError('snapshot delete beyond the text')
    tree.findVisible(op.pos)
    let span = tree.hitLeaf.spans[tree.hitIndex]!
    if (tree.hitOffset > 0) span = this.split(span, tree.hitOffset)
    op.targetAgent = span.agent
    op.targetCounter = span.counter
    let next = span.counter
    let remaining = op.length
    const removed: string[] = []
    const runs: number[] | null = this.removedRuns ? [] : null
    for (;;) {
      if (!span.deleted) {
        if (span.agent !== op.targetAgent || span.counter !== next) {
          throw new CrdtDecodeError('snapshot delete is not one run of characters')
        }
        if (span.len > remaining) this.split(span, remaining)
        if (runs) runs.push(span.counter, span.len)
        else removed.push(span.text)
        tree.markDeleted(span)
        remaining -= span.len
        next = span.counter + span.len
        span = this.mergeTombstones(span)
      }
      if (remaining === 0) break
      span = this.nextSpan(span)!
    }
    if (runs) this.removedRuns!(op, runs)
    else op.removed = removed.join('')
  }

  /** Raw position of a character, or -1 / the raw length for the document edges. */
  private rawPos(agent: number, counter: number, edge: number): number {
    if (agent === NONE) return edge
    const span = this.ids.find(agent, counter)
    return span ? this.tree.rawIndexOf(span) + counter - span.counter : edge
  }

  /**
   * Finds where a remote insert goes (the YjsMod rule, see the header) and puts it there. The cursor
   * (leaf, index, offset; raw position `pos`) walks forward from the left origin; `dest*` is where
   * the new span will go.
   */
  private integrateInsert(op: InsertOp, changes: TextChange[] | null): boolean {
    const tree = this.tree
    let leaf: Leaf = tree.first
    let index = 0
    let offset = 0
    let leftSpan: Span | undefined
    if (op.originLeftAgent !== NONE) {
      leftSpan = this.ids.find(op.originLeftAgent, op.originLeftCounter)
      // An origin is a character: a counter that a delete consumed names none.
      if (!leftSpan) return false
      leaf = leftSpan.leaf as Leaf
      index = tree.indexInLeaf(leftSpan)
      offset = op.originLeftCounter - leftSpan.counter + 1
      if (offset === leftSpan.len) {
        offset = 0
        index++
        if (index === leaf.spans.length && leaf.next) {
          leaf = leaf.next
          index = 0
        }
      }
    }
    let destLeaf = leaf
    let destIndex = index
    let destOffset = offset
    /** The right origin does not come after the left one: placed as if it named none (see below). */
    let detached = false

    // Fast path: nothing was inserted concurrently between the origins.
    const here = index < leaf.spans.length ? leaf.spans[index] : undefined
    const rightIsHere =
      here === undefined
        ? op.originRightAgent === NONE
        : here.agent === op.originRightAgent && here.counter + offset === op.originRightCounter
    if (!rightIsHere) {
      const end = tree.rawLength
      const left = leftSpan ? tree.rawIndexOf(leftSpan) + op.originLeftCounter - leftSpan.counter : -1
      let right =
        op.originRightAgent === NONE ? end : this.rawPos(op.originRightAgent, op.originRightCounter, NaN)
      // An origin is a character: one that names none was made by no honest replica. Refused.
      if (Number.isNaN(right)) return false
      // The two origins were neighbours when the insert was made, the left one first; where they are
      // now, their order is the same on every replica (only characters between them differ). A right
      // origin at or before the left one comes from an insert typed beside an equivocating device's
      // characters that peers then settled on another version of (src/main/node/forks.ts), or from a
      // crafted op. The scan would place it by arrival order (replicas diverged for good); it goes as
      // if it named no right origin, by every replica alike, and is kept so in its span, so that later
      // scans that pass it read it alike too.
      if (!(right > left)) {
        right = end
        detached = true
      }
      const name = this.replicas[op.agent]!
      let pos = left + 1
      let scanning = false
      /** The span just passed whole as a tie that the insert goes after: a candidate for a run. */
      let tie: Span | null = null
      for (;;) {
        if (!scanning) {
          destLeaf = leaf
          destIndex = index
          destOffset = offset
        }
        if (pos >= end || pos >= right) break
        let other = leaf.spans[index]!
        let passed: Span | null = null
        const otherLeft =
          offset > 0 ? pos - 1 : this.rawPos(other.originLeftAgent, other.originLeftCounter, -1)
        if (otherLeft < left) break
        if (otherLeft === left) {
          const otherRight = this.rawPos(other.originRightAgent, other.originRightCounter, end)
          if (otherRight < right) scanning = true
          else if (otherRight === right) {
            if (name < this.replicas[other.agent]!) break
            scanning = false
            if (offset === 0) {
              // A sibling the insert goes after, and so are the members of its run up to the last one
              // whose ID is not above ours: pass them all at once (sibling-runs.ts).
              if (tie !== null) this.runs.link(tie, other)
              const last = this.runs.lastBefore(other, name)
              if (last !== other) {
                pos = tree.rawIndexOf(last)
                leaf = last.leaf as Leaf
                index = tree.indexInLeaf(last)
                other = last
              }
              passed = other
            }
          } else scanning = false
        }
        // The rest of this span has left origins inside it, so it is skipped as a block, stopping
        // early only at the right origin.
        const step = Math.min(other.len - offset, right - pos)
        pos += step
        offset += step
        if (offset === other.len) {
          offset = 0
          index++
          if (index === leaf.spans.length && leaf.next) {
            leaf = leaf.next
            index = 0
          }
        }
        tie = passed
      }
    }

    const span = this.spanFor(op)
    if (detached) {
      span.originRightAgent = NONE
      span.originRightCounter = 0
    }
    if (destOffset > 0) {
      const before = destLeaf.spans[destIndex]!
      this.split(before, destOffset)
      destLeaf = before.leaf as Leaf
      destIndex = tree.indexInLeaf(before) + 1
    }
    this.insertSpan(destLeaf, destIndex, span)
    if (changes) changes.push({ index: tree.visibleIndexOf(span), deleted: 0, inserted: op.text })
    return true
  }

  private integrateDelete(op: DeleteOp, changes: TextChange[] | null): void {
    const end = op.targetCounter + op.length
    let counter = op.targetCounter
    this.ids.openRange(op.targetAgent, counter, end)
    const removed: string[] = []
    const runs: number[] | null = this.removedRuns ? [] : null
    while (counter < end) {
      // A counter that no span holds was consumed by a delete, not an insert: only a faulty peer
      // names it. Skip to the next character.
      let span = this.ids.findAtOrAfter(op.targetAgent, counter)
      if (!span || span.counter >= end) break
      counter = Math.max(counter, span.counter)
      const from = counter - span.counter
      const to = Math.min(span.len, end - span.counter)
      counter = span.counter + to
      if (span.deleted) continue
      if (from > 0) span = this.split(span, from)
      if (span.len > to - from) this.split(span, to - from)
      const index = changes ? this.tree.visibleIndexOf(span) : 0
      if (runs) runs.push(span.counter, span.len)
      else removed.push(span.text)
      this.tree.markDeleted(span)
      if (changes) changes.push({ index, deleted: span.len, inserted: '' })
      this.mergeTombstones(span)
    }
    if (runs) this.removedRuns!(op, runs)
    else op.removed = removed.join('')
  }
}

/** The time of the insert op in `log` that holds (agent, counter), or -1 if none does. */
function insertTime(log: readonly TextOp[], agent: number, counter: number): number {
  for (const op of log) {
    if (op.kind === 0 && op.agent === agent && counter >= op.counter && counter < op.counter + op.length) {
      return op.time
    }
  }
  return -1
}

/**
 * The cheap check that `bytes` can be the UTF-8 of `text` (each UTF-16 unit takes one to three bytes).
 * The caller vouches for the rest: the record holds the bytes, the replica the text.
 */
function checkUtf8Length(text: string, bytes: Uint8Array): void {
  if (bytes.length < text.length || bytes.length > text.length * 3) {
    throw new RangeError(`insert: ${bytes.length} bytes cannot be the UTF-8 of ${text.length} characters`)
  }
}

/** The counters of `op` in blocks of `blocks`, as sorted inclusive ranges, at most one per block. */
function droppedRanges(op: InsertOp, blocks: DroppedBlocks): [number, number][] {
  const out: [number, number][] = []
  const last = op.counter + op.length - 1
  for (let k = blockOf(op.counter); k <= blockOf(last); k++) {
    if (!blocks.has(k)) continue
    out.push([Math.max(op.counter, k * BLOCK_COUNTERS + 1), Math.min(last, (k + 1) * BLOCK_COUNTERS)])
  }
  return out
}

/** An insert named dropped, waiting for deletes of its characters in the dropped blocks. */
interface Uncovered {
  readonly op: InsertOp
  /** The counter of its first character not applied (an op may come again without its start). */
  readonly from: number
  /** Per character from `from`: 1 while no parked delete names it (in a dropped block). */
  readonly missing: Uint8Array
  remaining: number
}

/** Strikes off the characters `from` … `to` of a waiting insert: a parked delete names them. */
function strike(w: Uncovered, from: number, to: number): void {
  const start = Math.max(from, w.from) - w.from
  const end = Math.min(to, w.from + w.missing.length - 1) - w.from
  for (let i = start; i <= end; i++) {
    if (w.missing[i] === 0) continue
    w.missing[i] = 0
    w.remaining--
  }
}
