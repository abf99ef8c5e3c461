/**
 * The document order: a B-tree of spans in which every node knows how many characters it holds, both
 * visible and in all (tombstones included). Finding the span at a visible or raw position descends
 * from the root (O(log n)); finding the position of a span climbs from its leaf (O(log n)). Leaves are
 * linked so the integration scan can walk forward in document order.
 *
 * Lookups return through the `hit*` fields instead of a fresh object, because they run for every
 * keystroke and an allocation per lookup is measurable.
 *
 * A tree built from a loaded state (`buildLoaded`) starts with packed leaves: counts, but spans still
 * in the state's columns until something reads them (`Leaf.spans`, loaded-spans.ts). Reading the text
 * of a packed leaf is a slice of the state's text.
 */
import type { LoadedSpans } from './loaded-spans'
import type { Span } from './span'

const MAX_SPANS = 32
const MAX_CHILDREN = 32
/** Nodes per parent when a tree is built at once (`buildLoaded`): room left for edits before a split. */
const BUILD_FILL = 24

export class Leaf {
  /** The spans; null while they are still packed in `loaded` (a loaded state's leaf not yet read). */
  private list: Span[] | null = []
  private loaded: LoadedSpans | null = null
  /** This leaf's number in `loaded`. */
  private loadedAt = 0
  parent: Inner | null = null
  next: Leaf | null = null
  vis = 0
  raw = 0

  /** The spans, made from the loaded state the first time they are read (loaded-spans.ts). */
  get spans(): Span[] {
    return this.list ?? this.unpack()
  }

  set spans(spans: Span[]) {
    this.list = spans
  }

  /** A leaf whose spans are still only in `loaded`, number `at` there (its counts set from it). */
  static packed(loaded: LoadedSpans, at: number): Leaf {
    const leaf = new Leaf()
    leaf.list = null
    leaf.loaded = loaded
    leaf.loadedAt = at
    leaf.vis = loaded.vis(at)
    leaf.raw = loaded.raw(at)
    loaded.adopt(at, leaf)
    return leaf
  }

  /** The visible text, read without opening a packed leaf. */
  text(parts: string[]): void {
    if (this.list === null) parts.push(this.loaded!.textOf(this.loadedAt, this.vis))
    else for (const s of this.list) if (!s.deleted) parts.push(s.text)
  }

  /** Makes the spans of a packed leaf (see `spans`). */
  open(): void {
    if (this.list === null) this.unpack()
  }

  private unpack(): Span[] {
    const spans = this.loaded!.open(this.loadedAt, this)
    this.list = spans
    this.loaded = null
    return spans
  }
}

export class Inner {
  children: TreeNode[] = []
  parent: Inner | null = null
  vis = 0
  raw = 0
}

type TreeNode = Leaf | Inner

export class SpanTree {
  root: TreeNode = new Leaf()
  first: Leaf = this.root as Leaf

  hitLeaf: Leaf = this.first
  hitIndex = 0
  hitOffset = 0

  get visibleLength(): number {
    return this.root.vis
  }

  get rawLength(): number {
    return this.root.raw
  }

  /** Locates visible character `k` (0 ≤ k < visibleLength) into the hit fields. */
  findVisible(k: number): void {
    let node = this.root
    while (node instanceof Inner) {
      const children = node.children
      const last = children.length - 1
      let i = 0
      for (; i < last; i++) {
        const c = children[i]!
        if (k < c.vis) break
        k -= c.vis
      }
      node = children[i]!
    }
    const spans = node.spans
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!
      if (s.deleted) continue
      const n = s.len
      if (k < n) {
        this.hitLeaf = node
        this.hitIndex = i
        this.hitOffset = k
        return
      }
      k -= n
    }
    throw new Error(`SpanTree: visible position out of range`)
  }

  /** Locates raw character `k` (0 ≤ k < rawLength) into the hit fields. */
  findRaw(k: number): void {
    let node = this.root
    while (node instanceof Inner) {
      const children = node.children
      const last = children.length - 1
      let i = 0
      for (; i < last; i++) {
        const c = children[i]!
        if (k < c.raw) break
        k -= c.raw
      }
      node = children[i]!
    }
    const spans = node.spans
    for (let i = 0; i < spans.length; i++) {
      const n = spans[i]!.len
      if (k < n) {
        this.hitLeaf = node
        this.hitIndex = i
        this.hitOffset = k
        return
      }
      k -= n
    }
    throw new Error(`SpanTree: raw position out of range`)
  }

  /** Raw position of the first character of `span`. */
  rawIndexOf(span: Span): number {
    const leaf = span.leaf as Leaf
    let pos = 0
    for (const s of leaf.spans) {
      if (s === span) break
      pos += s.len
    }
    let node: TreeNode = leaf
    for (let parent = node.parent; parent; node = parent, parent = parent.parent) {
      for (const c of parent.children) {
        if (c === node) break
        pos += c.raw
      }
    }
    return pos
  }

  /** Visible position of the first character of `span` (where it is, or would be if visible). */
  visibleIndexOf(span: Span): number {
    const leaf = span.leaf as Leaf
    let pos = 0
    for (const s of leaf.spans) {
      if (s === span) break
      if (!s.deleted) pos += s.len
    }
    let node: TreeNode = leaf
    for (let parent = node.parent; parent; node = parent, parent = parent.parent) {
      for (const c of parent.children) {
        if (c === node) break
        pos += c.vis
      }
    }
    return pos
  }

  /** Adds to the counts of `leaf` and its ancestors. */
  bump(leaf: Leaf, visible: number, raw: number): void {
    for (let n: TreeNode | null = leaf; n; n = n.parent) {
      n.vis += visible
      n.raw += raw
    }
  }

  /** Makes an empty tree hold the leaves of a loaded state, packed until read (loaded-spans.ts). */
  buildLoaded(loaded: LoadedSpans): void {
    if (!(this.root instanceof Leaf) || this.root.spans.length > 0) {
      throw new Error('SpanTree: build on a non-empty tree')
    }
    if (loaded.leafCount === 0) return
    const leaves: Leaf[] = []
    for (let i = 0; i < loaded.leafCount; i++) leaves.push(Leaf.packed(loaded, i))
    this.link(leaves)
  }

  /** Links `leaves` (in order, at least one) and builds the inner nodes above them. */
  private link(leaves: Leaf[]): void {
    for (let i = 1; i < leaves.length; i++) leaves[i - 1]!.next = leaves[i]!
    let level: TreeNode[] = leaves
    while (level.length > 1) {
      level = groups(level, (part) => {
        const node = new Inner()
        node.children = part
        for (const c of part) {
          c.parent = node
          node.vis += c.vis
          node.raw += c.raw
        }
        return node
      })
    }
    this.root = level[0]!
    this.first = leaves[0]!
    this.hitLeaf = this.first
  }

  /** Inserts `span` at `index` of `leaf`'s spans. */
  insert(leaf: Leaf, index: number, span: Span): void {
    leaf.spans.splice(index, 0, span)
    span.leaf = leaf
    this.bump(leaf, span.visibleLength, span.len)
    if (leaf.spans.length > MAX_SPANS) this.splitLeaf(leaf)
  }

  /** Marks a whole span deleted and fixes the counts. */
  markDeleted(span: Span): void {
    if (span.deleted) return
    span.markDeleted()
    this.bump(span.leaf as Leaf, -span.len, 0)
  }

  /** Splits the span at (leaf, index) at `offset` and inserts the right part after it. Returns it. */
  splitSpan(leaf: Leaf, index: number, offset: number): Span {
    const span = leaf.spans[index]!
    const right = span.splitAt(offset)
    // Counts are unchanged by a split: take them off, then insert() adds them back. `0 -`, not unary
    // minus: a tombstone's -0 is a double to V8, and a double once added to the counts made every
    // node keep them as boxed doubles, so that optimized code reading them deoptimized again and again
    // (two replicas merging 10,000 ops each, the third time in a process: 95-127 ms, ~25 since).
    this.bump(leaf, 0 - right.visibleLength, 0 - right.len)
    this.insert(leaf, index + 1, right)
    return right
  }

  /** Index of `span` in its leaf. */
  indexInLeaf(span: Span): number {
    return (span.leaf as Leaf).spans.indexOf(span)
  }

  /** The visible text, in document order. */
  text(): string {
    const parts: string[] = []
    for (let leaf: Leaf | null = this.first; leaf; leaf = leaf.next) leaf.text(parts)
    return parts.join('')
  }

  /** Calls `visit` with every visible span, in document order. */
  forEachVisible(visit: (span: Span) => void): void {
    for (let leaf: Leaf | null = this.first; leaf; leaf = leaf.next) {
      for (const s of leaf.spans) if (!s.deleted) visit(s)
    }
  }

  private splitLeaf(leaf: Leaf): void {
    const right = new Leaf()
    right.spans = leaf.spans.splice(leaf.spans.length >> 1)
    for (const s of right.spans) {
      s.leaf = right
      right.vis += s.visibleLength
      right.raw += s.len
    }
    leaf.vis -= right.vis
    leaf.raw -= right.raw
    right.next = leaf.next
    leaf.next = right
    this.addSibling(leaf, right)
  }

  private splitInner(node: Inner): void {
    const right = new Inner()
    right.children = node.children.splice(node.children.length >> 1)
    for (const c of right.children) {
      c.parent = right
      right.vis += c.vis
      right.raw += c.raw
    }
    node.vis -= right.vis
    node.raw -= right.raw
    this.addSibling(node, right)
  }

  /** Puts `sibling` (already counted out of `node`) right after `node` under their parent. */
  private addSibling(node: TreeNode, sibling: TreeNode): void {
    const parent = node.parent
    if (!parent) {
      const root = new Inner()
      root.children = [node, sibling]
      root.vis = node.vis + sibling.vis
      root.raw = node.raw + sibling.raw
      node.parent = sibling.parent = root
      this.root = root
      return
    }
    parent.children.splice(parent.children.indexOf(node) + 1, 0, sibling)
    sibling.parent = parent
    if (parent.children.length > MAX_CHILDREN) this.splitInner(parent)
  }
}

/** `items` cut into consecutive groups of about BUILD_FILL (as even as possible), each made a node. */
function groups<T, N>(items: readonly T[], make: (part: T[]) => N): N[] {
  const out: N[] = []
  const count = Math.ceil(items.length / BUILD_FILL)
  for (let g = 0; g < count; g++) {
    out.push(
      make(items.slice(Math.floor((g * items.length) / count), Math.floor(((g + 1) * items.length) / count))),
    )
  }
  return out
}
