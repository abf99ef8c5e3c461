import { describe, expect, it, vi } from 'vitest'
import {
  CrdtDecodeError,
  LwwMap,
  checkStampWindow,
  decodeMapBatch,
  decodePropWrites,
  TextDoc,
  type Clock,
  type LwwChange,
  type VersionVector,
} from '../../../src/shared/crdt'
import { Prng, normalizeVersion, versionKey } from './harness'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A wall clock the test sets by hand. */
class ManualClock {
  constructor(public now = 1_000) {}
  readonly read: Clock = () => this.now
}

function replica<V = Json>(id: string, now = 1_000): { map: LwwMap<V>; clock: ManualClock } {
  const clock = new ManualClock(now)
  return { map: new LwwMap<V>(id, { clock: clock.read }), clock }
}

function sorted<V>(entries: [string, V][]): [string, V][] {
  return [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** Applies a batch and checks that the reported changes turn the old entries into the new ones. */
function receive<V>(map: LwwMap<V>, batch: Uint8Array): LwwChange<V>[] {
  const model = new Map(map.entries())
  const changes = map.applyRemote(batch)
  for (const c of changes) {
    if (c.value === undefined) model.delete(c.key)
    else model.set(c.key, c.value)
  }
  expect(sorted(map.entries())).toEqual(sorted([...model]))
  return changes
}

function state<V>(map: LwwMap<V>): { entries: [string, V][]; version: VersionVector; pending: number } {
  return {
    entries: sorted(map.entries()),
    version: normalizeVersion(map.version()),
    pending: map.pendingCount(),
  }
}

/** Which of two replicas wins a tie: both write `key` at the same wall time, without seeing each other. */
function tieWinner(first: string, second: string): string {
  const x = replica<string>(first, 5_000)
  const y = replica<string>(second, 5_000)
  const fromX = x.map.set('k', first)
  const fromY = y.map.set('k', second)
  receive(x.map, fromY)
  receive(y.map, fromX)
  const winner = x.map.get('k')!
  expect(y.map.get('k')).toBe(winner)
  return winner
}

describe('LwwMap locally', () => {
  it('sets, gets, deletes and lists entries', () => {
    const { map } = replica<Json>('m')
    expect(map.get('a')).toBeUndefined()
    expect(map.has('a')).toBe(false)
    expect(map.entries()).toEqual([])
    map.set('a', 1)
    map.set('b', { nested: ['x', 2, null] })
    map.set('a', 'one')
    expect(map.get('a')).toBe('one')
    expect(map.has('b')).toBe(true)
    expect(sorted(map.entries())).toEqual([
      ['a', 'one'],
      ['b', { nested: ['x', 2, null] }],
    ])
    map.delete('a')
    expect(map.has('a')).toBe(false)
    expect(map.get('a')).toBeUndefined()
    expect(sorted(map.entries())).toEqual([['b', { nested: ['x', 2, null] }]])
    map.delete('never-set')
    expect(map.has('never-set')).toBe(false)
  })

  it('null is a value, not a removal', () => {
    const { map } = replica<Json>('m')
    map.set('k', null)
    expect(map.has('k')).toBe(true)
    expect(map.get('k')).toBeNull()
    const { map: other } = replica<Json>('o')
    receive(other, map.changesSince({}))
    expect(other.has('k')).toBe(true)
    expect(other.entries()).toEqual([['k', null]])
  })

  it('stores values, not references the caller can still change', () => {
    const { map } = replica<Json>('m')
    const value = { list: [1, 2] }
    map.set('k', value)
    value.list.push(3)
    expect(map.get('k')).toEqual({ list: [1, 2] })
    ;(map.get('k') as { list: number[] }).list.push(4)
    expect(map.get('k')).toEqual({ list: [1, 2] })
  })

  it('counts writes in its version vector, from 1', () => {
    const { map } = replica<Json>('m')
    expect(normalizeVersion(map.version())).toEqual({})
    map.set('a', 1)
    expect(normalizeVersion(map.version())).toEqual({ m: 1 })
    map.delete('a')
    map.set('b', 2)
    expect(normalizeVersion(map.version())).toEqual({ m: 3 })
    const { map: other } = replica<Json>('o')
    other.set('c', 3)
    receive(map, other.changesSince({}))
    expect(normalizeVersion(map.version())).toEqual({ m: 3, o: 1 })
  })

  it('a local write is visible at once, however the clock moves', () => {
    const { map, clock } = replica<number>('m', 10_000)
    for (const now of [10_000, 10_000, 5, 0, 10_000, 20_000, 1]) {
      clock.now = now
      map.set('k', now)
      expect(map.get('k')).toBe(now)
      map.delete('k')
      expect(map.has('k')).toBe(false)
      map.set('k', -now - 1)
      expect(map.get('k')).toBe(-now - 1)
    }
  })
})

describe('LwwMap last-writer-wins rules', () => {
  it('the later timestamp wins, whatever the replica IDs and the delivery order', () => {
    for (const [earlyId, lateId] of [
      ['a', 'z'],
      ['z', 'a'],
    ] as const) {
      const early = replica<string>(earlyId, 100)
      const late = replica<string>(lateId, 200)
      const e = early.map.set('k', 'early')
      const l = late.map.set('k', 'late')
      expect(receive(early.map, l)).toEqual([{ key: 'k', value: 'late' }])
      expect(receive(late.map, e)).toEqual([])
      for (const order of [
        [e, l],
        [l, e],
      ]) {
        const third = replica<string>('third', 0)
        for (const batch of order) receive(third.map, batch)
        expect(third.map.get('k')).toBe('late')
      }
      expect(early.map.get('k')).toBe('late')
      expect(late.map.get('k')).toBe('late')
    }
  })

  it('ties break by replica ID, the same way on every replica', () => {
    const ids = ['m', 'b', 'z', 'ü', 'peer-10', 'peer-9']
    for (const x of ids) {
      for (const y of ids) {
        if (x === y) continue
        // Who wins does not depend on which replica is "first".
        expect(tieWinner(x, y)).toBe(tieWinner(y, x))
      }
    }
    // And it is a total order: no cycles among any three IDs.
    const beats = (x: string, y: string): boolean => tieWinner(x, y) === x
    for (const x of ids) {
      for (const y of ids) {
        for (const z of ids) {
          if (new Set([x, y, z]).size === 3 && beats(x, y) && beats(y, z)) expect(beats(x, z)).toBe(true)
        }
      }
    }
  })

  it('a removal beats older sets', () => {
    const setter = replica<string>('s', 100)
    const remover = replica<string>('r', 200)
    const base = setter.map.set('k', 'v0')
    receive(remover.map, base)
    const set = setter.map.set('k', 'v1') // concurrent with the removal below, and older
    const removal = remover.map.delete('k')
    expect(receive(setter.map, removal)).toEqual([{ key: 'k', value: undefined }])
    expect(receive(remover.map, set)).toEqual([])
    expect(setter.map.has('k')).toBe(false)
    expect(remover.map.has('k')).toBe(false)
    // Also against a set the remover never saw at all.
    const stranger = replica<string>('zzz', 150)
    const strangerSet = stranger.map.set('k', 'stranger')
    receive(stranger.map, removal)
    receive(remover.map, strangerSet)
    expect(stranger.map.has('k')).toBe(false)
    expect(remover.map.has('k')).toBe(false)
  })

  it('a later set beats an older removal', () => {
    const remover = replica<string>('zzz', 100)
    const setter = replica<string>('a', 200)
    const base = remover.map.set('k', 'v0')
    receive(setter.map, base)
    const removal = remover.map.delete('k')
    const set = setter.map.set('k', 'v1')
    receive(remover.map, set)
    receive(setter.map, removal)
    expect(remover.map.get('k')).toBe('v1')
    expect(setter.map.get('k')).toBe('v1')
  })

  it('a set and a removal with equal timestamps tie by replica ID, like two sets', () => {
    const [p, q] = ['peer-a', 'peer-b']
    const winner = tieWinner(p, q)
    const loser = winner === p ? q : p
    for (const winnerRemoves of [true, false]) {
      const w = replica<string>(winner, 7_000)
      const l = replica<string>(loser, 7_000)
      const fromW = winnerRemoves ? w.map.delete('k') : w.map.set('k', 'w')
      const fromL = winnerRemoves ? l.map.set('k', 'l') : l.map.delete('k')
      receive(w.map, fromL)
      receive(l.map, fromW)
      for (const m of [w.map, l.map]) {
        if (winnerRemoves) expect(m.has('k')).toBe(false)
        else expect(m.get('k')).toBe('w')
      }
    }
  })

  it('concurrent writes to different keys all survive', () => {
    const a = replica<number>('a', 10)
    const b = replica<number>('b', 10)
    const fromA = [a.map.set('x', 1), a.map.set('y', 2)]
    const fromB = [b.map.set('z', 3), b.map.delete('x')]
    for (const batch of fromB) receive(a.map, batch)
    for (const batch of fromA) receive(b.map, batch)
    expect(sorted(a.map.entries())).toEqual(sorted(b.map.entries()))
    expect(a.map.get('y')).toBe(2)
    expect(a.map.get('z')).toBe(3)
  })
})

describe('LwwMap hybrid logical clock', () => {
  it('a write made after seeing another wins, even with the local clock far behind', () => {
    const ahead = replica<string>('zzz', 1_000_000_000_000)
    const behind = replica<string>('aaa', 5)
    const first = ahead.map.set('k', 'seen')
    receive(behind.map, first)
    const second = behind.map.set('k', 'after')
    expect(behind.map.get('k')).toBe('after')
    receive(ahead.map, second)
    expect(ahead.map.get('k')).toBe('after')
    for (const order of [
      [first, second],
      [second, first],
    ]) {
      const third = replica<string>('mmm', 0)
      for (const batch of order) receive(third.map, batch)
      expect(third.map.get('k')).toBe('after')
    }
  })

  it('a write made after seeing another wins when both clocks stand still at the same time', () => {
    const a = replica<string>('zzz', 42)
    const b = replica<string>('aaa', 42)
    receive(b.map, a.map.set('k', 'first'))
    const later = b.map.delete('k')
    receive(a.map, later)
    expect(a.map.has('k')).toBe(false)
    receive(b.map, a.map.set('k', 'third')) // a saw the removal: this set is later still
    expect(b.map.get('k')).toBe('third')
  })

  it('a clock that goes backwards does not make a later local write lose', () => {
    const a = replica<number>('a', 1_000)
    const c = replica<number>('zzz', 500)
    const w1 = a.map.set('x', 1)
    a.clock.now = 0
    const w2 = a.map.set('x', 2)
    a.clock.now = 0
    const w3 = a.map.set('y', 3)
    const concurrent = c.map.set('x', 99) // concurrent, with an older wall time than a's first write
    expect(a.map.get('x')).toBe(2)
    for (const batch of [w3, w2, w1]) receive(c.map, batch)
    receive(a.map, concurrent)
    for (const m of [a.map, c.map]) {
      expect(m.get('x')).toBe(2)
      expect(m.get('y')).toBe(3)
    }
  })

  it('keeps what it has seen across save/load, so a restarted replica with a slow clock still wins', () => {
    const other = replica<string>('zzz', 500_000_000_000)
    const a = replica<string>('a', 1_000_000_000_000)
    const theirs = other.map.set('k', 'theirs')
    receive(a.map, theirs)
    a.map.set('j', 'mine')
    const restarted = LwwMap.load<string>(a.map.save(), 'a-restarted', { clock: () => 0 })
    const after = restarted.set('k', 'after restart')
    expect(restarted.get('k')).toBe('after restart')
    receive(other.map, restarted.changesSince(other.map.version()))
    expect(other.map.get('k')).toBe('after restart')
    expect(receive(other.map, after)).toEqual([])
  })
})

describe('LwwMap remote batches', () => {
  it('reports only visible changes', () => {
    const a = replica<string>('a', 100)
    const b = replica<string>('b', 50)
    const older = b.map.set('k', 'older')
    const newer = a.map.set('k', 'newer')
    const c = replica<string>('c', 0)
    expect(receive(c.map, newer)).toEqual([{ key: 'k', value: 'newer' }])
    expect(receive(c.map, older)).toEqual([])
    expect(receive(c.map, newer)).toEqual([])
    expect(receive(c.map, a.map.delete('k'))).toEqual([{ key: 'k', value: undefined }])
  })

  it('parks writes until the same replica’s earlier writes arrive', () => {
    const a = replica<number>('a', 10)
    const w1 = a.map.set('k', 1)
    a.clock.now = 20
    const w2 = a.map.set('j', 2)
    const b = replica<number>('b', 0)
    expect(receive(b.map, w2)).toEqual([])
    expect(b.map.pendingCount()).toBe(1)
    expect(b.map.has('j')).toBe(false)
    expect(normalizeVersion(b.map.version())).toEqual({})
    receive(b.map, w1)
    expect(b.map.pendingCount()).toBe(0)
    expect(sorted(b.map.entries())).toEqual([
      ['j', 2],
      ['k', 1],
    ])
    expect(normalizeVersion(b.map.version())).toEqual({ a: 2 })
  })

  it('does not count a parked write twice when it is delivered twice', () => {
    const a = replica<number>('a', 10)
    const w1 = a.map.set('k', 1)
    const w2 = a.map.set('k', 2)
    const b = replica<number>('b', 0)
    receive(b.map, w2)
    receive(b.map, w2)
    expect(b.map.pendingCount()).toBe(1)
    receive(b.map, w1)
    expect(b.map.get('k')).toBe(2)
    expect(b.map.pendingCount()).toBe(0)
  })

  it('parks a large batch that arrives before its dependency instead of refusing it', () => {
    const a = replica<number>('a', 10)
    const first = a.map.set('k', 0)
    for (let i = 1; i <= 100_000; i++) a.map.set(`key${i % 1000}`, i)
    const b = replica<number>('b', 0)
    let thrown: unknown
    try {
      receive(b.map, a.map.changesSince({ a: 1 }))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeUndefined()
    expect(b.map.pendingCount()).toBe(100_000)
    receive(b.map, first)
    expect(b.map.pendingCount()).toBe(0)
    expect(state(b.map)).toEqual(state(a.map))
  })

  it('a parked write that then arrives again after its predecessor is not left parked', () => {
    const a = replica<number>('a', 10)
    a.map.set('k', 1)
    a.map.set('k', 2)
    const third = a.map.set('j', 3)
    const b = replica<number>('b', 0)
    receive(b.map, third)
    expect(b.map.pendingCount()).toBe(1)
    receive(b.map, a.map.changesSince({}))
    expect(b.map.pendingCount()).toBe(0)
    expect(b.map.opCount()).toBe(3)
    expect(state(b.map)).toEqual(state(a.map))
  })

  // A work count, not a time: a parked write is retried when the write before it applies, so each is
  // tried at most twice. Rescanning every parked write after each one applied tried ~n²/2 here
  // (over 2.5 million for the reverse order).
  it('writes delivered one per batch, newest first or shuffled: the in-order state, few tries', () => {
    const writers = ['w1', 'w2', 'w3'].map((id) => replica<number>(id, 10))
    const batches: Uint8Array[] = []
    for (let i = 0; i < 2400; i++) batches.push(writers[i % 3]!.map.set(`key${i % 50}`, i))
    const inOrder = replica<number>('in-order', 0)
    for (const batch of batches) receive(inOrder.map, batch)
    const tries = vi.spyOn(LwwMap.prototype as unknown as { tryApply(): boolean }, 'tryApply')
    try {
      for (const order of [[...batches].reverse(), new Prng(5).shuffle([...batches])]) {
        tries.mockClear()
        const b = replica<number>('b', 0)
        for (const batch of order) b.map.applyRemote(batch)
        expect(state(b.map)).toEqual(state(inOrder.map))
        expect(tries.mock.calls.length).toBeLessThanOrEqual(2 * batches.length)
      }
    } finally {
      tries.mockRestore()
    }
  })

  it('changesSince brings a replica up to date, and changesSince(own version) is a no-op', () => {
    const a = replica<number>('a', 10)
    const b = replica<number>('b', 10)
    const c = replica<number>('c', 10)
    receive(b.map, c.map.set('from-c', 1))
    receive(a.map, b.map.set('from-b', 2))
    a.map.set('from-a', 3)
    b.map.delete('from-b')
    receive(a.map, b.map.changesSince(a.map.version()))
    receive(b.map, a.map.changesSince(b.map.version()))
    expect(state(a.map)).toEqual(state(b.map))
    expect(sorted(a.map.entries())).toEqual([
      ['from-a', 3],
      ['from-c', 1],
    ])
    const before = state(a.map)
    expect(receive(a.map, a.map.changesSince(a.map.version()))).toEqual([])
    expect(receive(a.map, b.map.changesSince(b.map.version()))).toEqual([])
    expect(state(a.map)).toEqual(before)
    const small = b.map.changesSince(a.map.version())
    expect(small.length).toBeLessThan(b.map.changesSince({}).length)
  })

  it('rejects TextDoc batches and malformed bytes with CrdtDecodeError, changing nothing', () => {
    const a = replica<number>('a', 10)
    const b = replica<number>('b', 10)
    const batch = a.map.set('k', 1)
    receive(b.map, batch)
    const before = state(b.map)
    const doc = new TextDoc('t')
    const bad = [
      doc.localInsert(0, 'text'),
      doc.save(),
      batch.subarray(0, batch.length - 1),
      new Uint8Array([7]),
    ]
    for (const bytes of bad) {
      let thrown: unknown
      try {
        b.map.applyRemote(bytes)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(CrdtDecodeError)
      expect((thrown as CrdtDecodeError).code).toBe('CRDT_DECODE')
      expect(state(b.map)).toEqual(before)
    }
  })
})

describe('LwwMap save and load', () => {
  it('preserves entries, version and parked writes, and keeps writing and merging', () => {
    const a = replica<Json>('a', 10)
    const b = replica<Json>('b', 10)
    receive(b.map, a.map.set('title', 'Notes'))
    const w2 = a.map.set('owner', 'ann')
    const w3 = a.map.set('tags', ['x'])
    receive(b.map, w3) // parked: w2 is missing
    b.map.set('colour', { r: 1 })
    b.map.delete('title')
    const loaded = LwwMap.load<Json>(b.map.save(), 'b2', { clock: () => 10 })
    expect(state(loaded)).toEqual(state(b.map))
    expect(loaded.pendingCount()).toBe(1)
    receive(loaded, w2)
    expect(loaded.pendingCount()).toBe(0)
    expect(loaded.get('tags')).toEqual(['x'])
    loaded.set('late', true)
    expect(normalizeVersion(loaded.version()).b2).toBe(1)
    expect(normalizeVersion(loaded.version()).b).toBe(2)
    receive(a.map, loaded.changesSince(a.map.version()))
    expect(state(a.map)).toEqual(state(loaded))
  })

  it('rejects malformed snapshots with CrdtDecodeError', () => {
    const { map } = replica<number>('m')
    map.set('k', 1)
    const saved = map.save()
    for (const bytes of [
      saved.subarray(0, saved.length - 1),
      new Uint8Array([0xff, 0xff]),
      saved.subarray(2),
    ]) {
      expect(() => LwwMap.load<number>(bytes, 'x')).toThrow(CrdtDecodeError)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Randomized convergence

interface Write {
  readonly key: string
  /** Unique per write (a JSON value) or undefined for a removal. */
  readonly value: Json | undefined
  readonly replica: string
  readonly counter: number
  /** What the writer had applied when it wrote: the write's causal past. */
  readonly past: VersionVector
  /** Global wall time of the write in the monotone mode. */
  readonly time: number
}

interface LwwSlot {
  map: LwwMap<Json>
  clock: ManualClock
  model: Map<string, Json>
  generation: number
  readonly index: number
  readonly delivered: Set<number>
}

const KEYS = ['title', 'owner', 'colour', 'members/ann', 'members/bob']

/**
 * Random writes, partial delivery with duplicates and reordering, restarts under a fresh replica ID.
 * In "monotone" mode every write happens at a strictly later wall time than all before it, so the
 * final value of each key must be its last write. In "wild" mode clocks jump backwards, stand still
 * and disagree; then the final winner of a key must be a write that no other write of that key saw.
 */
function runLwwCase(seed: number, mode: 'monotone' | 'wild'): void {
  const rng = new Prng(seed)
  const n = rng.range(2, 6)
  const steps = rng.range(30, 200)
  const slots: LwwSlot[] = []
  const sent: Uint8Array[] = []
  const writes: Write[] = []
  const authored: VersionVector = {}
  let globalTime = 1_000
  let unique = 0
  const context = (): string => `lww ${mode} seed ${seed}`

  const newMap = (slot: number, generation: number, clock: ManualClock, from?: Uint8Array): LwwMap<Json> => {
    const id = `${['p', 'Ω', 'node'][slot % 3]}${slot}.${generation}`
    return from
      ? LwwMap.load<Json>(from, id, { clock: clock.read })
      : new LwwMap<Json>(id, { clock: clock.read })
  }
  for (let i = 0; i < n; i++) {
    const clock = new ManualClock(mode === 'monotone' ? globalTime : rng.range(0, 10_000))
    slots.push({
      map: newMap(i, 0, clock),
      clock,
      model: new Map(),
      generation: 0,
      index: i,
      delivered: new Set(),
    })
  }

  const apply = (slot: LwwSlot, index: number): void => {
    const duplicate = slot.delivered.has(index)
    const before = duplicate ? state(slot.map) : undefined
    const changes = slot.map.applyRemote(sent[index]!)
    if (before) {
      // A batch this replica already has (it applied, parked or wrote it) changes nothing.
      expect(changes, `${context()}: duplicate delivery`).toEqual([])
      expect(state(slot.map), `${context()}: duplicate delivery`).toEqual(before)
    }
    for (const c of changes) {
      if (c.value === undefined) slot.model.delete(c.key)
      else slot.model.set(c.key, c.value)
    }
    expect(sorted(slot.map.entries()), context()).toEqual(sorted([...slot.model]))
    slot.delivered.add(index)
  }

  for (let step = 0; step < steps; step++) {
    const slot = rng.pick(slots)
    const r = rng.next()
    if (r < 0.45) {
      if (mode === 'monotone') {
        globalTime += rng.range(1, 3)
        for (const s of slots) s.clock.now = globalTime
      } else {
        slot.clock.now = rng.pick([slot.clock.now, slot.clock.now + rng.range(1, 100), rng.range(0, 10_000)])
      }
      const key = rng.pick(KEYS)
      const past = normalizeVersion(slot.map.version())
      let value: Json | undefined
      let batch: Uint8Array
      if (rng.chance(0.25)) {
        batch = slot.map.delete(key)
        expect(slot.map.has(key), context()).toBe(false)
        slot.model.delete(key)
      } else {
        unique++
        value = rng.pick<Json>([unique, `v${unique}`, { n: unique }, [unique, 'ü']])
        batch = slot.map.set(key, value)
        expect(slot.map.get(key), context()).toEqual(value)
        slot.model.set(key, value)
      }
      const counter = normalizeVersion(slot.map.version())[slot.map.replica]!
      expect(counter, context()).toBe((past[slot.map.replica] ?? 0) + 1)
      authored[slot.map.replica] = counter
      writes.push({ key, value, replica: slot.map.replica, counter, past, time: globalTime })
      sent.push(batch)
      slot.delivered.add(sent.length - 1)
    } else if (r < 0.85) {
      for (let k = rng.range(1, 4); k > 0 && sent.length > 0; k--) apply(slot, rng.int(sent.length))
    } else if (r < 0.95) {
      const from = rng.pick(slots)
      sent.push(from.map.changesSince(slot.map.version()))
      from.delivered.add(sent.length - 1)
      apply(slot, sent.length - 1)
    } else {
      const before = state(slot.map)
      slot.generation++
      slot.map = newMap(slot.index, slot.generation, slot.clock, slot.map.save())
      expect(state(slot.map), context()).toEqual(before)
    }
  }

  // Everything reaches everyone: raw batches for some replicas, changesSince for the others.
  for (const slot of rng.shuffle([...slots])) {
    if (rng.chance(0.5)) {
      const order = [...sent.keys()].filter((i) => !slot.delivered.has(i) || rng.chance(0.05))
      for (const i of rng.shuffle(order)) apply(slot, i)
    } else {
      for (const from of slots) {
        if (from === slot) continue
        sent.push(from.map.changesSince(slot.map.version()))
        apply(slot, sent.length - 1)
      }
    }
  }

  const final = state(slots[0]!.map)
  for (const slot of slots) {
    expect(state(slot.map), context()).toEqual(final)
    expect(slot.map.pendingCount(), context()).toBe(0)
  }
  expect(versionKey(final.version), context()).toBe(versionKey(authored))

  const saw = (later: Write, earlier: Write): boolean => (later.past[earlier.replica] ?? 0) >= earlier.counter
  for (const key of KEYS) {
    const ofKey = writes.filter((w) => w.key === key)
    const value = slots[0]!.map.get(key)
    if (ofKey.length === 0) {
      expect(value, context()).toBeUndefined()
      continue
    }
    if (mode === 'monotone') {
      expect(value, `${context()}: key ${key} must hold its last write`).toEqual(
        ofKey[ofKey.length - 1]!.value,
      )
      continue
    }
    // The winner is a write that no other write of this key had seen.
    const candidates =
      value === undefined
        ? ofKey.filter((w) => w.value === undefined)
        : ofKey.filter((w) => JSON.stringify(w.value) === JSON.stringify(value))
    const maximal = candidates.filter((w) => !ofKey.some((other) => other !== w && saw(other, w)))
    expect(maximal.length, `${context()}: key ${key} ended as ${JSON.stringify(value)}`).toBeGreaterThan(0)
  }
}

describe('LwwMap randomized convergence', () => {
  const seeds = Array.from({ length: 150 }, (_, i) => i + 1)
  it.each(seeds)('monotone clocks, seed %i: every key holds its last write', (seed) => {
    runLwwCase(seed, 'monotone')
  })
  it.each(seeds)('wild clocks, seed %i: converges and respects causality', (seed) => {
    runLwwCase(seed, 'wild')
  })
})

describe('a peer batch decoded once (decodeMapBatch)', () => {
  it('applies, checks and lists writes from the decoding as from the bytes', () => {
    const a = replica('alice-01')
    const batches = [a.map.set('title', 'Notes'), a.map.set('lang', 'md'), a.map.delete('title')]
    const fromBytes = replica('bob-0001').map
    const fromDecoding = replica('carol-01').map
    for (const batch of batches) {
      const decoded = decodeMapBatch(batch)
      expect(decodePropWrites(decoded)).toEqual(decodePropWrites(batch))
      expect(() => checkStampWindow(decoded, 1_000)).not.toThrow()
      expect(fromDecoding.applyRemote(batch, decoded)).toEqual(fromBytes.applyRemote(batch))
    }
    expect(sorted(fromDecoding.entries())).toEqual(sorted(fromBytes.entries()))
    expect(fromDecoding.version()).toEqual(fromBytes.version())
    // Too far ahead, from the decoding as from the bytes; malformed bytes never decode.
    const ahead = replica('dave-001', 10 ** 12).map.set('k', 1)
    expect(() => checkStampWindow(decodeMapBatch(ahead), 1_000)).toThrow(/ahead/)
    expect(() => decodeMapBatch(batches[0]!.subarray(0, 5))).toThrow(CrdtDecodeError)
  })
})
