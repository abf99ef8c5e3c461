/**
 * Runs of sibling inserts, so that integrating an insert can pass many of them at once.
 *
 * Inserts made concurrently into the same gap (same left and same right origin) are ordered by replica
 * ID (the tie rule in text-doc.ts). The integration scan walks past every such sibling that sorts
 * before the new insert, one at a time: n replicas inserting at one place cost O(n) each, O(n²) in all.
 *
 * A run is a list of spans that are next to each other in document order (no span between any two),
 * have the same origins (agent and counter of both), and whose replica IDs strictly ascend. When the
 * scan meets a member that ties with the new insert and sorts before it, every later member up to the
 * last one whose ID is not above the new insert's would be met the same way (a tie, passed, nothing
 * else between), so the scan jumps there: a binary search instead of a walk. Members are not required
 * to be all the siblings of a gap; a run only records what is certain, and whatever it lacks the scan
 * walks as before, so the resulting order is exactly the plain scan's.
 *
 * Runs are built by the scan as it passes two adjacent ties (`link`), grow when an insert lands between
 * two members in order (`inserted`), and are cut when anything else comes between two members (an
 * insert, the right part of a split member) or a member leaves the tree (`removed`). They are not
 * saved: a loaded document rebuilds them as the scan passes its siblings again.
 *
 * Costs: a jump is two binary searches (over a run's chunks, then in one); joining a run inserts into
 * one chunk of at most MAX_CHUNK members; a cut relabels the smaller part.
 */
import type { Span } from './span'

/** Members per chunk of a run, at most: joining a run moves at most this many, not the whole run. */
const MAX_CHUNK = 512

/** Where a member is: chunk `c`, index `i` in it (i = the chunk's length: after its last member). */
interface At {
  c: number
  i: number
}

/**
 * A run's members in order, in chunks of 1 to MAX_CHUNK: joining a run of 20,000 members moves the
 * members of one chunk, where one array would move them all (a memmove per join, quadratic in all).
 */
class Run {
  size: number
  constructor(public chunks: Span[][]) {
    this.size = chunks.reduce((n, chunk) => n + chunk.length, 0)
  }

  get first(): Span {
    return this.chunks[0]![0]!
  }

  get last(): Span {
    const chunk = this.chunks[this.chunks.length - 1]!
    return chunk[chunk.length - 1]!
  }

  /** The member before `at` (undefined at the start). */
  before(at: At): Span | undefined {
    if (at.i > 0) return this.chunks[at.c]![at.i - 1]
    return at.c > 0 ? this.chunks[at.c - 1]!.at(-1) : undefined
  }

  /** Members before `at`. */
  countBefore(at: At): number {
    let n = at.i
    for (let c = 0; c < at.c; c++) n += this.chunks[c]!.length
    return n
  }

  insert(at: At, span: Span): void {
    const chunk = this.chunks[at.c]!
    chunk.splice(at.i, 0, span)
    this.size++
    if (chunk.length > MAX_CHUNK) this.chunks.splice(at.c + 1, 0, chunk.splice(chunk.length >> 1))
  }

  /** Splits before `at` (neither end): the members before it stay, those from it on are returned. */
  splitOff(at: At): Span[][] {
    const chunk = this.chunks[at.c]!
    const tail = at.i === 0 ? [] : [chunk.splice(at.i)]
    const rest = this.chunks.splice(at.i === 0 ? at.c : at.c + 1)
    const moved = [...tail, ...rest]
    this.size -= moved.reduce((n, c) => n + c.length, 0)
    return moved
  }

  /** Splits before `at`: the members before it are returned, those from it on stay. */
  splitFront(at: At): Span[][] {
    const front = this.chunks.splice(0, at.c)
    if (at.i > 0) front.push(this.chunks[0]!.splice(0, at.i))
    this.size -= front.reduce((n, c) => n + c.length, 0)
    return front
  }
}

export class SiblingRuns {
  private readonly runOf = new Map<Span, Run>()

  /** `names`: replica IDs by agent (the document's table, which may grow). */
  constructor(private readonly names: readonly string[]) {}

  /**
   * `span`, a member of the gap that the scan is passing as a tie sorting at or before `name`: the last
   * member of its run from it on that also sorts at or before `name` (`span` itself if it has no run).
   * Members ascend and `span` sorts at or before `name`, so that member is the run's last one that does.
   */
  lastBefore(span: Span, name: string): Span {
    const run = this.runOf.get(span)
    if (run === undefined) return span
    const chunks = run.chunks
    // The last chunk whose first member sorts at or before `name`, then the last such member in it.
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (name < this.names[chunks[mid]![0]!.agent]!) hi = mid - 1
      else lo = mid
    }
    const chunk = chunks[lo]!
    let a = 0
    let b = chunk.length - 1
    while (a < b) {
      const mid = (a + b + 1) >> 1
      if (name < this.names[chunk[mid]!.agent]!) b = mid - 1
      else a = mid
    }
    return chunk[a]!
  }

  /** `prev` and `next` are adjacent in document order (`next` right after): joins them if they qualify. */
  link(prev: Span, next: Span): void {
    if (!this.inOrder(prev, next)) return
    const a = this.runOf.get(prev)
    const b = this.runOf.get(next)
    if (a !== undefined && a === b) return
    // Adjacent spans in different runs: `prev` ends its run and `next` starts its own.
    if (a !== undefined && a.last !== prev) return
    if (b !== undefined && b.first !== next) return
    if (a === undefined && b === undefined) this.adopt([[prev, next]])
    else if (b === undefined) this.add(a!, this.end(a!), next)
    else if (a === undefined) this.add(b, { c: 0, i: 0 }, prev)
    else if (a.size >= b.size) {
      for (const chunk of b.chunks) a.chunks.push(chunk)
      a.size += b.size
      this.adopt(b.chunks, a)
    } else {
      b.chunks = a.chunks.concat(b.chunks)
      b.size += a.size
      this.adopt(a.chunks, b)
    }
  }

  /** `span` has just been put into the document right before `next` (undefined: at the end). */
  inserted(span: Span, next: Span | undefined): void {
    if (next === undefined || this.runOf.size === 0) return
    const run = this.runOf.get(next)
    if (run === undefined) return
    const at = this.locate(run, next)
    const prev = run.before(at)
    if (prev === undefined) {
      if (this.inOrder(span, next)) this.add(run, at, span)
      return
    }
    // `span` now stands between `prev` and `next`, two members.
    if (this.inOrder(prev, span) && this.inOrder(span, next)) this.add(run, at, span)
    else this.cut(run, at)
  }

  /** `span` has left the document (a neighbour absorbed it). */
  removed(span: Span): void {
    const run = this.runOf.get(span)
    if (run === undefined) return
    // Its neighbours in the run are no longer adjacent: cut both sides, then drop it.
    const at = this.locate(run, span)
    this.cut(run, { c: at.c, i: at.i + 1 })
    const own = this.runOf.get(span)
    if (own === undefined) return
    this.cut(own, this.locate(own, span))
    this.runOf.delete(span)
  }

  /** Whether `b`, right after `a`, may follow it in a run: the same origins and a higher replica ID. */
  private inOrder(a: Span, b: Span): boolean {
    return (
      a.originLeftAgent === b.originLeftAgent &&
      a.originLeftCounter === b.originLeftCounter &&
      a.originRightAgent === b.originRightAgent &&
      a.originRightCounter === b.originRightCounter &&
      this.names[a.agent]! < this.names[b.agent]!
    )
  }

  /** Where `span` is in `run`: members strictly ascend by replica ID, so a binary search finds it. */
  private locate(run: Run, span: Span): At {
    const chunks = run.chunks
    const name = this.names[span.agent]!
    // The first chunk whose last member does not sort before `span`, then `span` in it.
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.names[chunks[mid]!.at(-1)!.agent]! < name) lo = mid + 1
      else hi = mid
    }
    const chunk = chunks[lo]!
    let a = 0
    let b = chunk.length - 1
    while (a < b) {
      const mid = (a + b) >> 1
      if (this.names[chunk[mid]!.agent]! < name) a = mid + 1
      else b = mid
    }
    if (chunk[a] !== span) throw new Error('SiblingRuns: a member is not where its ID sorts')
    return { c: lo, i: a }
  }

  /** After the run's last member. */
  private end(run: Run): At {
    const c = run.chunks.length - 1
    return { c, i: run.chunks[c]!.length }
  }

  private add(run: Run, at: At, span: Span): void {
    run.insert(at, span)
    this.runOf.set(span, run)
  }

  /**
   * Splits `run` before the member at `at` (a part of one member is no run). The smaller part moves
   * out, so a run of n members cut again and again relabels O(n log n) members in all.
   */
  private cut(run: Run, at: At): void {
    const k = run.countBefore(at)
    if (k <= 0 || k >= run.size) return
    // After a chunk's last member is before the next chunk's first: no split leaves an empty chunk.
    if (at.i === run.chunks[at.c]!.length) at = { c: at.c + 1, i: 0 }
    this.adopt(k <= run.size - k ? run.splitFront(at) : run.splitOff(at))
    if (run.size === 1) this.runOf.delete(run.first)
  }

  /** Makes `chunks` the run `run` (a new one by default), or no run if they hold a single span. */
  private adopt(chunks: Span[][], run?: Run): void {
    if (run === undefined && chunks.reduce((n, c) => n + c.length, 0) < 2) {
      for (const chunk of chunks) for (const s of chunk) this.runOf.delete(s)
      return
    }
    const owner = run ?? new Run(chunks)
    for (const chunk of chunks) for (const s of chunk) this.runOf.set(s, owner)
  }
}
