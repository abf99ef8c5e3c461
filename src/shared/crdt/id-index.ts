/**
 * From a character ID to the span that holds it. One index per replica: its spans sorted by counter,
 * kept in chunks so that lookups are two binary searches (O(log n)) and a split only shifts one small
 * chunk rather than the whole list.
 */
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

  /** Fills an empty index with `spans`, sorted by counter, in chunks of CHUNK. */
  build(spans: readonly Span[]): void {
    this.chunks = []
    for (let i = 0; i < spans.length; i += CHUNK) this.chunks.push(spans.slice(i, i + CHUNK))
    if (this.chunks.length === 0) this.chunks.push([])
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

  private replica(agent: number): ReplicaSpans {
    let r = this.byReplica[agent]
    if (!r) {
      r = new ReplicaSpans()
      this.byReplica[agent] = r
    }
    return r
  }

  find(agent: number, counter: number): Span | undefined {
    return this.byReplica[agent]?.find(counter)
  }

  findAtOrAfter(agent: number, counter: number): Span | undefined {
    return this.byReplica[agent]?.findAtOrAfter(counter)
  }

  append(span: Span): void {
    this.replica(span.agent).append(span)
  }

  /** Fills the empty index of `agent` with its spans, sorted by counter and not overlapping. */
  build(agent: number, spans: readonly Span[]): void {
    this.replica(agent).build(spans)
  }

  insertAfter(left: Span, right: Span): void {
    this.replica(left.agent).insertAfter(left, right)
  }

  remove(span: Span): void {
    this.replica(span.agent).remove(span)
  }
}
