/**
 * From a character ID to the span that holds it. One index per replica: its spans sorted by counter,
 * kept in chunks so that lookups are two binary searches (O(log n)) and a split only shifts one small
 * chunk rather than the whole list.
 *
 * After `TextDoc.loadState`, the spans of the leaves not opened yet are not here but in the loaded
 * columns (loaded-spans.ts), which keep them by counter too: a lookup first opens the leaves that hold
 * what it asks for, and an opened leaf adds its spans here (`insert`).
 */
import type { LoadedSpans } from './loaded-spans'
import type { Span } from './span'

const CHUNK = 32

class ReplicaSpans {
  chunks: Span[][] = [[]]

  /** Position of the chunk that holds `counter`, by binary search over the chunks' first counters. */
  private chunkFor(counter: number): number {
    const chunks = this.chunks
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (chunks[mid]![0]!.counter <= counter) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  find(counter: number): Span | undefined {
    const chunk = this.chunks[this.chunkFor(counter)]!
    let lo = 0
    let hi = chunk.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const s = chunk[mid]!
      if (counter < s.counter) hi = mid - 1
      else if (counter >= s.counter + s.len) lo = mid + 1
      else return s
    }
    return undefined
  }

  /** The span holding `counter`, else the first span after it, else undefined. */
  findAtOrAfter(counter: number): Span | undefined {
    const ci = this.chunkFor(counter)
    const chunk = this.chunks[ci]!
    for (const s of chunk) if (s.counter + s.len > counter) return s
    return this.chunks[ci + 1]?.[0]
  }

  /** Adds a span that overlaps none in this index, wherever its counter falls. */
  insert(span: Span): void {
    const chunks = this.chunks
    const ci = this.chunkFor(span.counter)
    const chunk = chunks[ci]!
    let lo = 0
    let hi = chunk.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (chunk[mid]!.counter < span.counter) lo = mid + 1
      else hi = mid
    }
    chunk.splice(lo, 0, span)
    if (chunk.length > CHUNK * 2) chunks.splice(ci + 1, 0, chunk.splice(CHUNK))
  }

  /** Adds a span whose counter is above every span's in this index. */
  append(span: Span): void {
    let last = this.chunks[this.chunks.length - 1]!
    if (last.length >= CHUNK) {
      last = []
      this.chunks.push(last)
    }
    last.push(span)
  }

  /** Adds `right`, just split off `left`, after it. */
  insertAfter(left: Span, right: Span): void {
    const ci = this.chunkFor(left.counter)
    const chunk = this.chunks[ci]!
    chunk.splice(chunk.indexOf(left, 0) + 1, 0, right)
    if (chunk.length > CHUNK * 2) this.chunks.splice(ci + 1, 0, chunk.splice(CHUNK))
  }

  remove(span: Span): void {
    const ci = this.chunkFor(span.counter)
    const chunk = this.chunks[ci]!
    chunk.splice(chunk.indexOf(span), 1)
    if (chunk.length === 0 && this.chunks.length > 1) this.chunks.splice(ci, 1)
  }
}

export class IdIndex {
  private readonly byReplica: ReplicaSpans[] = []
  /** The spans of a loaded state that no leaf has opened yet; null once there are none. */
  private loaded: LoadedSpans | null = null

  /** Takes the spans of a loaded state, which its leaves add (`insert`) as they open. */
  adopt(loaded: LoadedSpans): void {
    this.loaded = loaded
  }

  /** Checks the loaded spans' IDs now (CrdtDecodeError), so that no later lookup can fail. */
  ready(): void {
    const loaded = this.loaded
    if (loaded === null) return
    if (loaded.done) this.loaded = null
    else loaded.ordered()
  }

  /**
   * Makes every span of `agent` holding a counter in [from, to) findable here: `findAtOrAfter` finds
   * the spans of a range only after this (`find` calls it itself).
   */
  openRange(agent: number, from: number, to: number): void {
    const loaded = this.loaded
    if (loaded === null) return
    if (loaded.done) this.loaded = null
    else loaded.openHolding(agent, from, to)
  }

  private replica(agent: number): ReplicaSpans {
    let r = this.byReplica[agent]
    if (!r) {
      r = new ReplicaSpans()
      this.byReplica[agent] = r
    }
    return r
  }

  find(agent: number, counter: number): Span | undefined {
    if (this.loaded !== null) this.openRange(agent, counter, counter + 1)
    return this.byReplica[agent]?.find(counter)
  }

  /** As ReplicaSpans.findAtOrAfter; within a range given to `openRange` first. */
  findAtOrAfter(agent: number, counter: number): Span | undefined {
    return this.byReplica[agent]?.findAtOrAfter(counter)
  }

  /** Adds a span from a leaf of a loaded state as it opens. */
  insert(span: Span): void {
    this.replica(span.agent).insert(span)
  }

  append(span: Span): void {
    this.replica(span.agent).append(span)
  }

  insertAfter(left: Span, right: Span): void {
    this.replica(left.agent).insertAfter(left, right)
  }

  remove(span: Span): void {
    this.replica(span.agent).remove(span)
  }
}
