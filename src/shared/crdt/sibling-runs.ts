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
 * Costs: a jump is two binary searches; joining a run inserts into an array (a memory move, fast even
 * for 20,000 members); a cut relabels the smaller part.
 */
import type { Span } from './span'

class Run {
  constructor(public members: Span[]) {}
}

export class SiblingRuns {
  private readonly runOf = new Map<Span, Run>()

  /** `names`: replica IDs by agent (the document's table, which may grow). */
  constructor(private readonly names: readonly string[]) {}

  /**
   * `span`, a member of the gap that the scan is passing as a tie sorting at or before `name`: the last
   * member of its run from it on that also sorts at or before `name` (`span` itself if it has no run).
   */
  lastBefore(span: Span, name: string): Span {
    const run = this.runOf.get(span)
    if (run === undefined) return span
    const members = run.members
    let lo = this.indexOf(run, span)
    let hi = members.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (name < this.names[members[mid]!.agent]!) hi = mid - 1
      else lo = mid
    }
    return members[lo]!
  }

  /** `prev` and `next` are adjacent in document order (`next` right after): joins them if they qualify. */
  link(prev: Span, next: Span): void {
    if (!this.inOrder(prev, next)) return
    const a = this.runOf.get(prev)
    const b = this.runOf.get(next)
    if (a !== undefined && a === b) return
    // Adjacent spans in different runs: `prev` ends its run and `next` starts its own.
    if (a !== undefined && a.members[a.members.length - 1] !== prev) return
    if (b !== undefined && b.members[0] !== next) return
    if (a === undefined && b === undefined) this.adopt([prev, next])
    else if (b === undefined) this.add(a!, a!.members.length, next)
    else if (a === undefined) this.add(b, 0, prev)
    else if (a.members.length >= b.members.length) {
      for (const s of b.members) a.members.push(s)
      this.adopt(b.members, a)
    } else {
      b.members = a.members.concat(b.members)
      this.adopt(a.members, b)
    }
  }

  /** `span` has just been put into the document right before `next` (undefined: at the end). */
  inserted(span: Span, next: Span | undefined): void {
    if (next === undefined || this.runOf.size === 0) return
    const run = this.runOf.get(next)
    if (run === undefined) return
    const k = this.indexOf(run, next)
    if (k === 0) {
      if (this.inOrder(span, next)) this.add(run, 0, span)
      return
    }
    // `span` now stands between members k-1 and k.
    if (this.inOrder(run.members[k - 1]!, span) && this.inOrder(span, next)) this.add(run, k, span)
    else this.cut(run, k)
  }

  /** `span` has left the document (a neighbour absorbed it). */
  removed(span: Span): void {
    const run = this.runOf.get(span)
    if (run === undefined) return
    const k = this.indexOf(run, span)
    // Its neighbours in the run are no longer adjacent: cut both sides, then drop it.
    this.cut(run, k + 1)
    const own = this.runOf.get(span)
    if (own === undefined) return
    this.cut(own, own.members.length - 1)
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
  private indexOf(run: Run, span: Span): number {
    const members = run.members
    const name = this.names[span.agent]!
    let lo = 0
    let hi = members.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.names[members[mid]!.agent]! < name) lo = mid + 1
      else hi = mid
    }
    if (members[lo] !== span) throw new Error('SiblingRuns: a member is not where its ID sorts')
    return lo
  }

  private add(run: Run, at: number, span: Span): void {
    run.members.splice(at, 0, span)
    this.runOf.set(span, run)
  }

  /**
   * Splits `run` before member k into two runs (a part of one member is no run). The smaller part moves
   * out, so a run of n members cut again and again relabels O(n log n) members in all.
   */
  private cut(run: Run, k: number): void {
    const members = run.members
    if (k <= 0 || k >= members.length) return
    const part = k <= members.length - k ? members.splice(0, k) : members.splice(k)
    this.adopt(part)
    if (members.length === 1) this.runOf.delete(members[0]!)
  }

  /** Makes `members` the run `run` (a new one by default), or no run if it is a single span. */
  private adopt(members: Span[], run?: Run): void {
    if (run === undefined && members.length < 2) {
      for (const s of members) this.runOf.delete(s)
      return
    }
    const owner = run ?? new Run(members)
    for (const s of members) this.runOf.set(s, owner)
  }
}
