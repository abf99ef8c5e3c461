/**
 * The state form of a TextDoc (`saveState` / `loadState`): what the document is, not how it got there,
 * so that loading costs in proportion to the document rather than to everything ever typed.
 *
 *   header    kind 9 | replica count, then every replica the document knows, in agent order
 *             (replica-table.ts); the table the rest of the state indexes into
 *   version   per replica, the highest counter applied (varint)
 *   text      u8 encoding (0 UTF-8; 1 UTF-16LE, only for a text that holds a lone surrogate, which
 *             UTF-8 cannot carry; + 2 when deflated, + 4 when brotli) | the text of the visible spans, in
 *             document order: byte length | bytes, or compressed as raw length | packed length | bytes
 *             (packing.ts; prose keeps ~22-27% of its bytes: 104,852 B of the automerge-paper text are
 *             23,525 B brotli, 28,234 B deflated)
 *   leaves    count | spans per leaf of the span tree, and 1 + the index of the span local typing
 *             extends (0: none): where spans are cut and joined later depends on both, and so do the
 *             visible changes that remote ops report, which are then the same too
 *   pending   byte length | the parked ops as one timed batch (text-codec.ts), then count | per op
 *             the ID it waits for (replica, counter), in parking order
 *   dropped   kind 10 only: count | per block whose text was dropped, replica | block | SHA-256 of
 *             its units (32 bytes), as a catch-up batch names them (text-codec.ts, kind 10). Kind 10
 *             is kind 9 with this section; a state with no dropped block is written as kind 9
 *   log       chunk count | per chunk byte length | chunk: the op log, oldest first, as chunks that
 *             `decodeLogChunk` decodes when the history is first needed (the last op has a chunk of its
 *             own, decoded at once: it is the one a local edit may extend). A chunk of length 0 is kept
 *             apart (`TextDoc.saveStateApart`): the loader is given it, in order, with the state
 *   spans     the rest: every span with its IDs and origins, tombstones included, field by field and
 *             compressed as one block (span-section.ts)
 *
 *   chunk     consecutive ops of the log (log-chunk.ts): now (form 3, positional-chunk.ts) by position
 *             where made here, without the text the visible text holds, each delete with the text it
 *             removed; the last op's chunk decodes alone
 *
 * The spans come last so that a loader can leave them encoded: opening a document to read its text (an
 * editor showing it, a peer answering `changesSince`) then costs the text, not the spans, which for a
 * document with a long deleted history are mostly tombstones. They are decoded, all checked, when an
 * edit or a remote op first needs them (`DecodedTextState.spans`). Older kinds are still read: kind 8
 * has the same sections, its text never deflated and its spans interleaved span by span, not deflated
 * (span-columns.ts); kind 6 is kind 8 with the spans right after the text (then decoded at once).
 *
 * A chunk is made once, when its ops are first saved (`TextDoc` keeps the chunks it made and those it
 * loaded, and adds one for the ops since); a history loaded and not decoded is copied into the next
 * state as it is. Each character's text is stored once in a state: in the text while it is visible,
 * with the delete that removed it once it is not. On the automerge-paper trace the state is 104,685 B
 * with brotli (56,632 B of state: text 26,332, spans 29,545; 48,053 B of history), where it was
 * 174,867 B with the history's inserts carrying their text (form 2) and every section deflated. Reading
 * its history then replays it (~40-130 ms here, where form 2 decoded in 13-36 ms), which the History
 * panel and a peer far behind wait for, once.
 *
 * Decoding treats the input as hostile, like the other decoders: every count and length is checked
 * against what remains before anything is allocated, every replica index against the table, every
 * span against the version (no span beyond a replica's counter, none overlapping another of the same
 * replica, origins naming counters that were applied), and the text against the visible spans.
 */
import {
  ByteReader,
  ByteWriter,
  concatBytes,
  decodeUtf16le,
  decodeUtf8,
  encodeUtf16le,
  encodeUtf8,
} from './bytes'
import { BLOCK_COUNTERS } from './op-stream'
import type { TextOp } from './ops'
import type { ParkedOp } from './pending-ops'
import { BROTLI, DEFLATED, packSection, unpackSection } from './packing'
import { readHeader, writeHeader } from './replica-table'
import { Span } from './span'
import { decodeSpanColumns, type SpanColumns } from './span-columns'
import { decodeSpanSection, encodeSpanSection } from './span-section'
import { decodeTextOps, encodeTextOps, KIND_TEXT_BATCH_TIMED, type DecodedOps } from './text-codec'
import { CrdtDecodeError } from './types'

export const KIND_TEXT_STATE = 9
/** Kind 9 with the blocks whose text was dropped. */
const KIND_TEXT_STATE_DROPPED = 10
/** The layout before the text and the spans were compressed (read, no longer written). */
const KIND_TEXT_STATE_PLAIN = 8
/** The layout before the spans moved last (read, no longer written). */
const KIND_TEXT_STATE_SPANS_FIRST = 6

const TEXT_UTF8 = 0
const TEXT_UTF16LE = 1
/** Kind 9: added to the encoding when the text is deflated (raw length | packed length | bytes). */
const TEXT_DEFLATED = 2
/** Kind 9: added to the encoding when the text is brotli (packing.ts), as raw length | packed length | bytes. */
const TEXT_BROTLI = 4
/** A smaller text is not worth deflating. */
const DEFLATE_FROM = 256
/** A leaf of the span tree holds at most this many spans (span-tree.ts). */
export const MAX_LEAF_SPANS = 32

export interface TextStateParts {
  /** Every replica of the document, by agent. */
  readonly replicas: readonly string[]
  /** Highest counter applied, by agent. */
  readonly seen: readonly number[]
  /** Every span, in document order (agents index `replicas`). */
  readonly spans: readonly Span[]
  /** Spans per leaf of the span tree, in order. */
  readonly leaves: readonly number[]
  /** Index in `spans` of the span local typing extends, or -1. */
  readonly lastLocal: number
  /** The visible text (the visible spans' text, in order). */
  readonly text: string
  /** Whether `text` holds a lone surrogate (only ever from a faulty peer); then it is kept as UTF-16. */
  readonly loneSurrogates: boolean
  /** The parked ops, in parking order, with agents indexing `replicas`. */
  readonly pending: readonly ParkedOp[]
  /** The op log as chunks (`encodeLogChunk`), oldest first; null for a chunk kept apart. */
  readonly log: readonly (Uint8Array | null)[]
  /** The blocks whose text was dropped (agents index `replicas`). */
  readonly dropped?: readonly DroppedBlock[]
}

/** A block of a replica's counters whose text was dropped, and the hash of its units (op-stream.ts). */
export interface DroppedBlock {
  readonly agent: number
  readonly block: number
  readonly hash: Uint8Array
}

export interface DecodedTextState {
  /** The state's replica table, which `seen` indexes. */
  readonly replicas: string[]
  readonly seen: number[]
  readonly text: string
  /** Whether the text is all ASCII (then it holds no surrogate: told by its length, not a scan). */
  readonly ascii: boolean
  /**
   * The spans in document order (agents index the state's table; `agents` maps them), decoded and
   * checked on the first call (CrdtDecodeError): a reader of only the text never pays for them.
   */
  readonly spans: () => SpanColumns
  /** The document agent of each replica of the state (what `mapAgents` returned). */
  readonly agents: readonly number[]
  /** Spans per leaf, each 1 to MAX_LEAF_SPANS, adding up to the span count. */
  readonly leaves: number[]
  /** Index of the span local typing extends, or -1. */
  readonly lastLocal: number
  /** The parked ops as decoded (agents index the batch's own table). */
  readonly pending: DecodedOps
  /** For each parked op, the ID it waits for, agent mapped by `mapAgents`. */
  readonly awaited: { readonly agent: number; readonly counter: number }[]
  /** The op log's chunks, oldest first; null for one kept apart (the loader has it). */
  readonly log: (Uint8Array | null)[]
  /** The blocks whose text was dropped, agents mapped by `mapAgents`; each within its replica's version. */
  readonly dropped: DroppedBlock[]
  /** Bytes the text and the spans take in the state, as stored (deflated or not): for tools. */
  readonly stored: { readonly text: number; readonly spans: number }
}

/** Encodes a state; see the header for the layout. */
export function encodeTextState(parts: TextStateParts): Uint8Array {
  const { replicas, seen, spans } = parts
  const w = new ByteWriter(64 + parts.text.length)
  const dropped = parts.dropped ?? []
  writeHeader(w, dropped.length > 0 ? KIND_TEXT_STATE_DROPPED : KIND_TEXT_STATE, replicas)
  for (let a = 0; a < replicas.length; a++) w.uint(seen[a]!)

  if (parts.loneSurrogates) {
    writeText(w, TEXT_UTF16LE, encodeUtf16le(parts.text))
  } else {
    writeText(w, TEXT_UTF8, encodeUtf8(parts.text))
  }

  w.uint(parts.leaves.length)
  for (const size of parts.leaves) w.uint(size)
  w.uint(parts.lastLocal + 1)

  const pending = parts.pending
  const batch =
    pending.length > 0
      ? encodeTextOps(
          replicas,
          pending.map((p) => p.op),
          undefined,
          true,
        )
      : null
  w.uint(batch ? batch.length : 0)
  if (batch) w.bytes(batch)
  w.uint(pending.length)
  for (const p of pending) {
    w.uint(p.agent)
    w.uint(p.counter)
  }
  if (dropped.length > 0) {
    w.uint(dropped.length)
    for (const d of dropped) {
      w.uint(d.agent)
      w.uint(d.block)
      w.bytes(d.hash)
    }
  }

  w.uint(parts.log.length)
  // The log is most of the bytes: its chunks are copied once, into the result, not into the writer.
  const lengths = new ByteWriter(parts.log.length * 4 + 8)
  const out: Uint8Array[] = [w.view()]
  for (const chunk of parts.log) {
    const at = lengths.length
    lengths.uint(chunk?.length ?? 0)
    out.push(lengths.view().subarray(at))
    if (chunk) out.push(chunk)
  }
  // The spans last: a loader that only reads the text stops before them (see the header).
  out.push(encodeSpanSection(spans, replicas.length))
  return concatBytes(...out)
}

/** The text section: compressed when that is smaller (prose keeps ~22-27% of its bytes), else as it is. */
function writeText(w: ByteWriter, encoding: number, bytes: Uint8Array): void {
  if (bytes.length >= DEFLATE_FROM) {
    const packed = packSection(bytes)
    if (packed.bytes.length < bytes.length) {
      w.byte(encoding | (packed.method === BROTLI ? TEXT_BROTLI : TEXT_DEFLATED))
      w.bytes(packed.bytes)
      return
    }
  }
  w.byte(encoding)
  w.uint(bytes.length)
  w.bytes(bytes)
}

/**
 * Decodes and validates a state. `mapAgents` receives the state's replica table once it is read and
 * returns the document agent of each; spans are built with those agents. Throws CrdtDecodeError.
 */
export function decodeTextState(
  bytes: Uint8Array,
  mapAgents: (replicas: readonly string[]) => readonly number[],
): DecodedTextState {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  const r = new ByteReader(bytes)
  const { kind, replicas } = readHeader(
    r,
    [KIND_TEXT_STATE, KIND_TEXT_STATE_DROPPED, KIND_TEXT_STATE_PLAIN, KIND_TEXT_STATE_SPANS_FIRST],
    'text state',
  )
  const n = replicas.length
  const seen: number[] = []
  for (let a = 0; a < n; a++) seen.push(r.uint())
  const map = mapAgents(replicas)
  const agentAt = (i: number): number => {
    if (i >= n) throw new CrdtDecodeError(`replica index ${i} outside the table of ${n}`)
    return i
  }

  const textStart = r.pos
  const form = r.byte()
  // Kinds 6 and 8 keep the text as it is; 9 and 10 may compress it.
  const packing = kind >= KIND_TEXT_STATE ? form & (TEXT_DEFLATED | TEXT_BROTLI) : 0
  if (packing === (TEXT_DEFLATED | TEXT_BROTLI)) throw new CrdtDecodeError('a text both deflated and brotli')
  const encoding = form & ~packing
  const raw =
    packing !== 0 ? unpackSection(r, packing === TEXT_BROTLI ? BROTLI : DEFLATED, 'text') : r.bytes(r.uint())
  let text: string
  if (encoding === TEXT_UTF8) text = decodeUtf8(raw)
  else if (encoding === TEXT_UTF16LE) text = decodeUtf16le(raw)
  else throw new CrdtDecodeError(`unknown text encoding ${encoding}`)
  const textStored = r.pos - textStart

  const early =
    kind === KIND_TEXT_STATE_SPANS_FIRST ? decodeSpanColumns(r, r.count(2), seen, text.length) : null
  const spansEnd = r.pos

  const leafCount = r.count(1)
  const leaves: number[] = []
  let inLeaves = 0
  for (let i = 0; i < leafCount; i++) {
    const size = r.uint()
    if (size < 1 || size > MAX_LEAF_SPANS) throw new CrdtDecodeError(`a leaf of ${size} spans`)
    inLeaves += size
    leaves.push(size)
  }
  const lastLocal = r.uint() - 1

  const pendingBatch = r.bytes(r.uint())
  const pending: DecodedOps =
    pendingBatch.length > 0 ? decodeTextOps(pendingBatch) : { replicas: [], ops: [] as TextOp[] }
  if (pendingBatch.length > 0 && pendingBatch[0]! >> 4 !== KIND_TEXT_BATCH_TIMED) {
    throw new CrdtDecodeError('parked ops without their times')
  }
  const parked = r.uint()
  if (parked !== pending.ops.length) throw new CrdtDecodeError('parked ops and their awaited IDs differ')
  const awaited: { agent: number; counter: number }[] = []
  for (let i = 0; i < parked; i++) {
    const agent = agentAt(r.uint())
    const counter = r.uint()
    if (counter < 1) throw new CrdtDecodeError('counter 0')
    awaited.push({ agent: map[agent]!, counter })
  }
  const dropped: DroppedBlock[] = []
  const droppedCount = kind === KIND_TEXT_STATE_DROPPED ? r.count(34) : 0
  const named = new Set<string>()
  for (let i = 0; i < droppedCount; i++) {
    const agent = agentAt(r.uint())
    const block = r.uint()
    // A dropped block is a whole one: every counter of it applied.
    if ((block + 1) * BLOCK_COUNTERS > seen[agent]!)
      throw new CrdtDecodeError('a dropped block past the version')
    if (named.has(`${agent}:${block}`)) throw new CrdtDecodeError('a dropped block named twice')
    named.add(`${agent}:${block}`)
    dropped.push({ agent: map[agent]!, block, hash: r.bytes(32).slice() })
  }

  const chunks = r.count(1)
  const log: (Uint8Array | null)[] = []
  for (let i = 0; i < chunks; i++) {
    const chunk = r.bytes(r.uint())
    log.push(chunk.length === 0 ? null : chunk)
  }
  /** The spans, checked against the rest of the state. */
  const checked = (columns: SpanColumns): SpanColumns => {
    if (inLeaves !== columns.count) throw new CrdtDecodeError('the leaves do not hold the spans')
    if (lastLocal >= columns.count) throw new CrdtDecodeError('the typing span is not a span')
    return columns
  }
  let spans: SpanColumns | null = null
  if (early !== null) {
    if (!r.done()) throw new CrdtDecodeError('trailing bytes')
    spans = checked(early)
  }
  // The spans section is the rest of the state: decoded when first asked for, not to read the text.
  const rest = r.bytes(r.remaining)
  const decodeSpans = (): SpanColumns => {
    if (kind === KIND_TEXT_STATE || kind === KIND_TEXT_STATE_DROPPED)
      return checked(decodeSpanSection(rest, seen, text.length))
    const plain = new ByteReader(rest)
    const columns = decodeSpanColumns(plain, plain.count(2), seen, text.length)
    if (!plain.done()) throw new CrdtDecodeError('trailing bytes')
    return checked(columns)
  }
  return {
    replicas,
    seen,
    text,
    ascii: encoding === TEXT_UTF8 && text.length === raw.length,
    spans: () => (spans ??= decodeSpans()),
    agents: map,
    leaves,
    lastLocal,
    pending,
    awaited,
    log,
    dropped,
    stored: { text: textStored, spans: early !== null ? spansEnd - textStart - textStored : rest.length },
  }
}

/** The spans of a decoded state as Span objects, in document order (for tests and tools). */
export function spansOf(state: DecodedTextState): Span[] {
  const c = state.spans()
  const agent = (a: number): number => (a < 0 ? a : state.agents[a]!)
  const out: Span[] = []
  let at = 0
  for (let k = 0; k < c.count; k++) {
    const deleted = c.deleted[k] === 1
    const len = c.len[k]!
    const text = deleted ? '' : state.text.slice(at, (at += len))
    const span = new Span(
      agent(c.agent[k]!),
      c.counter[k]!,
      text,
      deleted,
      agent(c.olAgent[k]!),
      c.olCounter[k]!,
      agent(c.orAgent[k]!),
      c.orCounter[k]!,
    )
    span.len = len
    out.push(span)
  }
  return out
}
