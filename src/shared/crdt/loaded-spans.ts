/**
 * The spans of a loaded state (`TextDoc.loadState`) that no leaf has opened yet. A leaf of the span
 * tree starts out as a range of the decoded columns (span-columns.ts) and its slice of the visible
 * text; it makes its Span objects the first time something reads its spans (`Leaf.spans`), and from
 * then on is an ordinary leaf. Reading the text of a leaf not opened is a slice of the loaded text, so
 * opening a document and reading its text builds no span at all, and a document's tombstones cost
 * nothing until an edit near them, or a remote op naming them, opens their leaf.
 *
 * The ID index asks here for the spans of a replica's counter range that are still packed
 * (`openHolding`): the columns keep, per replica, the spans in counter order, and each leaf that holds
 * one of them is opened, which hands its spans to the ID index (`onOpen`). A leaf is opened at most
 * once; once all are, nothing here is kept.
 */
import { Span } from './span'
import { counterOrder, spanOfKey, type CounterOrder, type SpanColumns } from './span-columns'
import type { Leaf } from './span-tree'

/**
 * A number read from a Float64Array, as a small integer (a Smi) where it is one. V8 hands out such a
 * read as a heap number, and a field given one becomes a boxed double in every object of its class
 * (Span: 4 boxes a span, +0.7 MB measured for 12,529 spans, and boxes allocated with every span made
 * after; Leaf: its counts).
 */
const small = (v: number): number => (v < 0x40000000 ? v | 0 : v)

export class LoadedSpans {
  private columns: SpanColumns | null
  /** The spans by counter, made when the ID index first asks (`openHolding`). */
  private order: CounterOrder | null = null
  private text: string
  /** Index of each leaf's first span, and the span count after the last leaf. */
  private readonly leafFirst: Int32Array
  /** Where each leaf's visible text starts in `text`, and its visible and raw characters. */
  private readonly leafText: Float64Array
  private readonly leafVis: Float64Array
  private readonly leafRaw: Float64Array
  /** The document agent of each of the state's replicas. */
  private readonly map: Int32Array
  /** The leaves not opened yet, by number; null once opened. */
  private readonly leaves: (Leaf | null)[]
  /** The state's replica of each document agent (-1: none). */
  private readonly stateAgentOf: Int32Array
  private unopened: number

  constructor(
    columns: SpanColumns,
    text: string,
    leafSizes: readonly number[],
    /** The document agent of each of the state's replicas. */
    map: readonly number[],
    /** Called with every span a leaf makes as it opens. */
    private readonly onOpen: (span: Span) => void,
  ) {
    this.columns = columns
    this.text = text
    const leafCount = leafSizes.length
    this.leafFirst = new Int32Array(leafCount + 1)
    this.leafText = new Float64Array(leafCount)
    this.leafVis = new Float64Array(leafCount)
    this.leafRaw = new Float64Array(leafCount)
    const { deleted, len } = columns
    let first = 0
    let at = 0
    for (let i = 0; i < leafCount; i++) {
      this.leafFirst[i] = first
      this.leafText[i] = at
      const end = first + leafSizes[i]!
      let raw = 0
      let vis = 0
      for (let k = first; k < end; k++) {
        raw += len[k]!
        if (deleted[k] === 0) vis += len[k]!
      }
      this.leafVis[i] = vis
      this.leafRaw[i] = raw
      at += vis
      first = end
    }
    this.leafFirst[leafCount] = first
    this.leaves = new Array<Leaf | null>(leafCount).fill(null)
    this.unopened = leafCount
    this.map = Int32Array.from(map)
    let agents = 0
    for (const agent of map) agents = Math.max(agents, agent + 1)
    this.stateAgentOf = new Int32Array(agents).fill(-1)
    map.forEach((agent, i) => (this.stateAgentOf[agent] = i))
  }

  /** Whether every leaf has opened (then nothing here is needed any more). */
  get done(): boolean {
    return this.unopened === 0
  }

  get leafCount(): number {
    return this.leaves.length
  }

  /** Visible characters of leaf `i`. */
  vis(i: number): number {
    return small(this.leafVis[i]!)
  }

  /** Characters of leaf `i`, tombstones included. */
  raw(i: number): number {
    return small(this.leafRaw[i]!)
  }

  /** Makes `leaf` the tree's leaf number `i`, to be opened from here. */
  adopt(i: number, leaf: Leaf): void {
    this.leaves[i] = leaf
  }

  /** The visible text of leaf `i`, not opened. */
  textOf(i: number, vis: number): string {
    const from = this.leafText[i]!
    return this.text.slice(from, from + vis)
  }

  /** Builds the spans of leaf `i` (`leaf`), hands them to `onOpen`, and forgets the leaf. */
  open(i: number, leaf: Leaf): Span[] {
    const c = this.columns!
    const map = this.map
    const first = this.leafFirst[i]!
    const end = this.leafFirst[i + 1]!
    const spans = new Array<Span>(end - first)
    let at = this.leafText[i]!
    for (let k = first; k < end; k++) {
      const deleted = c.deleted[k] === 1
      const len = c.len[k]!
      const ol = c.olAgent[k]!
      const or = c.orAgent[k]!
      const span = new Span(
        map[c.agent[k]!]!,
        small(c.counter[k]!),
        deleted ? '' : this.text.slice(at, at + len),
        deleted,
        ol < 0 ? ol : map[ol]!,
        small(c.olCounter[k]!),
        or < 0 ? or : map[or]!,
        small(c.orCounter[k]!),
      )
      if (deleted) span.len = small(len)
      else at += len
      span.leaf = leaf
      spans[k - first] = span
    }
    this.leaves[i] = null
    if (--this.unopened === 0) {
      // Nothing refers to the columns any more: let them go (the spans' texts keep what they need).
      this.columns = null
      this.order = null
      this.text = ''
    }
    for (const span of spans) this.onOpen(span)
    return spans
  }

  /** The span at index `k` of the state, opening its leaf. */
  span(k: number): Span {
    const i = this.leafOf(k)
    const leaf = this.leaves[i]
    if (leaf === null || leaf === undefined) throw new Error('LoadedSpans: that leaf is open already')
    return leaf.spans[k - this.leafFirst[i]!]!
  }

  /**
   * Opens every leaf that holds a span of document agent `agent` with a character in [from, to), so
   * that the ID index finds them. O(log n + spans in the range).
   */
  openHolding(agent: number, from: number, to: number): void {
    const c = this.columns
    if (c === null) return
    const a = agent < this.stateAgentOf.length ? this.stateAgentOf[agent]! : -1
    if (a < 0) return
    const order = this.ordered()
    const keys = order.byCounter
    const shift = order.shift
    let lo = order.agentStart[a]!
    let hi = order.agentStart[a + 1]!
    // The first span (in counter order) that ends after `from`.
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const k = spanOfKey(keys[mid]!, shift)
      if (c.counter[k]! + c.len[k]! > from) hi = mid
      else lo = mid + 1
    }
    const end = order.agentStart[a + 1]!
    for (let i = lo; i < end; i++) {
      const k = spanOfKey(keys[i]!, shift)
      if (c.counter[k]! >= to) break
      this.leaves[this.leafOf(k)]?.open()
      if (this.columns === null) return
    }
  }

  /**
   * The spans by counter, checking that no two hold the same character (CrdtDecodeError). The ID index
   * asks for it before any remote op applies, so that a state failing the check changes nothing.
   */
  ordered(): CounterOrder {
    return (this.order ??= counterOrder(this.columns!))
  }

  /** Number of the leaf that holds span `k`. */
  private leafOf(k: number): number {
    const first = this.leafFirst
    let lo = 0
    let hi = this.leaves.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (first[mid]! <= k) lo = mid
      else hi = mid - 1
    }
    return lo
  }
}
