/**
 * Ops parked because a dependency has not arrived yet, indexed by the one ID each is waiting for.
 *
 * TextDoc parks an op on the first of its dependencies it finds missing (agent, counter). Per agent,
 * the waiters sit in a binary min-heap by that counter. A version vector only grows and has no
 * gaps, so when an agent's highest applied counter becomes `seen`, the waiters to release are
 * exactly those at the top of its heap with counter <= seen: O(log n) each, and no other parked op
 * is looked at. (Rescanning every parked op whenever anything applied made out-of-order delivery
 * quadratic.) A released op that still lacks another dependency is parked again on that one.
 *
 * Waiters for the same counter are released in the order they were parked (a sequence number breaks
 * ties), never in an order that depends on the heap's layout: so a document rebuilt from its saved
 * state (`TextDoc.loadState`), which parks the same waiters in that order, applies them in the same
 * order as the original, and its history is the same.
 */
import type { DeleteOp, TextOp } from './ops'

class Waiter {
  constructor(
    readonly key: string,
    readonly op: TextOp,
    /** The ID the op waits for: it can be retried once `counter` of `agent` has been applied. */
    readonly agent: number,
    readonly counter: number,
    /** Parking order, for ties between waiters on the same counter. */
    readonly seq: number,
  ) {}
}

/** Whether `a` is released before `b`. */
const before = (a: Waiter, b: Waiter): boolean =>
  a.counter < b.counter || (a.counter === b.counter && a.seq < b.seq)

/** A parked op and the ID it waits for, as `TextDoc.saveState` keeps them. */
export interface ParkedOp {
  readonly op: TextOp
  readonly agent: number
  readonly counter: number
}

/** Heaps compact once stale entries exceed this many plus the live ones (see `park`). */
const STALE_SLACK = 64

export class PendingOps {
  /**
   * The parked ops by `agent:counter` of the op itself, so that a duplicate is parked once. A waiter
   * that is in a heap but no longer here (a longer op replaced it) is stale: dropped when popped.
   */
  private readonly byKey = new Map<string, Waiter>()
  /** Per awaited agent, a min-heap by awaited counter. */
  private readonly heaps: Waiter[][] = []
  private stale = 0
  private seq = 0
  /** Per target agent, the parked deletes that name its characters (`forEachDeleteOf`). */
  private readonly deletesOn = new Map<number, Set<Waiter>>()

  /**
   * Visits the target range ([from, to], inclusive) of every parked delete that names characters of
   * `agent`: an insert whose text was dropped is taken only once such deletes name all of it
   * (text-doc.ts, `takesDropped`).
   */
  forEachDeleteOf(agent: number, visit: (from: number, to: number) => void): void {
    for (const w of this.deletesOn.get(agent) ?? []) {
      const op = w.op as DeleteOp
      visit(op.targetCounter, op.targetCounter + op.length - 1)
    }
  }

  private index(w: Waiter, add: boolean): void {
    if (w.op.kind !== 1) return
    const agent = w.op.targetAgent
    let named = this.deletesOn.get(agent)
    if (add) {
      if (!named) this.deletesOn.set(agent, (named = new Set()))
      named.add(w)
    } else if (named) {
      named.delete(w)
      if (named.size === 0) this.deletesOn.delete(agent)
    }
  }

  get size(): number {
    return this.byKey.size
  }

  /** The parked ops, oldest parked first. */
  ops(): TextOp[] {
    return Array.from(this.byKey.values(), (w) => w.op)
  }

  /** The parked ops with the ID each waits for, oldest parked first: parking them again in this order
   * (`park`) rebuilds an index that releases them exactly as this one would. */
  parked(): ParkedOp[] {
    return Array.from(this.byKey.values(), (w) => ({ op: w.op, agent: w.agent, counter: w.counter }))
  }

  /**
   * Parks `op` until (agent, counter) has been applied. Keeps the longer op when one with the same
   * ID is already parked: it covers the shorter, whose characters the longer one also carries.
   */
  park(op: TextOp, agent: number, counter: number): void {
    const key = `${op.agent}:${op.counter}`
    const parked = this.byKey.get(key)
    if (parked && parked.op.length >= op.length) return
    const waiter = new Waiter(key, op, agent, counter, this.seq++)
    // Re-inserted, not replaced in place: the map's order stays the parking order (see `parked`).
    if (parked) {
      this.byKey.delete(key)
      this.index(parked, false)
    }
    this.byKey.set(key, waiter)
    this.index(waiter, true)
    push((this.heaps[agent] ??= []), waiter)
    // A replaced waiter stays in its heap until popped. Peers could replace parked ops without end,
    // so rebuild the heaps from the live waiters before the stale ones dominate.
    if (parked && ++this.stale > this.byKey.size + STALE_SLACK) this.compact()
  }

  /**
   * Unparks the ops waiting for a counter of `agent` up to `seen` (its highest applied counter) and
   * appends them to `out`, in order of the counter they waited for.
   */
  release(agent: number, seen: number, out: TextOp[]): void {
    const heap = this.heaps[agent]
    if (heap === undefined) return
    while (heap.length > 0 && heap[0]!.counter <= seen) {
      const waiter = pop(heap)
      if (this.byKey.get(waiter.key) === waiter) {
        this.byKey.delete(waiter.key)
        this.index(waiter, false)
        out.push(waiter.op)
      } else {
        this.stale--
      }
    }
  }

  private compact(): void {
    this.heaps.length = 0
    for (const waiter of this.byKey.values()) push((this.heaps[waiter.agent] ??= []), waiter)
    this.stale = 0
  }
}

function push(heap: Waiter[], waiter: Waiter): void {
  let i = heap.length
  heap.push(waiter)
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (!before(waiter, heap[parent]!)) break
    heap[i] = heap[parent]!
    i = parent
  }
  heap[i] = waiter
}

function pop(heap: Waiter[]): Waiter {
  const top = heap[0]!
  const last = heap.pop()!
  const n = heap.length
  if (n > 0) {
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && before(heap[child + 1]!, heap[child]!)) child++
      if (!before(heap[child]!, last)) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
  }
  return top
}
