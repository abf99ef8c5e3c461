import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import {
  Prng,
  applyChanges,
  caseForSeed,
  normalizeVersion,
  randomDeleteRange,
  randomInsertIndex,
  reproducer,
  runConvergenceCase,
  type FuzzCase,
} from './harness'

/** Seeds 1..1000 with the replica and step counts each seed derives (2–8 replicas, 10–1000 steps). */
const SEEDS: FuzzCase[] = Array.from({ length: 1000 }, (_, i) => caseForSeed(i + 1))
/** A few long histories, and the extremes of the replica range. */
const LONG: FuzzCase[] = [
  { seed: 424242, replicas: 2, steps: 3000 },
  { seed: 1337, replicas: 8, steps: 3000 },
  { seed: 2024, replicas: 5, steps: 2000 },
  { seed: 7, replicas: 8, steps: 1 },
  { seed: 8, replicas: 2, steps: 0 },
]

describe('randomized convergence (seeded)', () => {
  it('uses a varied set of replica and step counts', () => {
    expect(new Set(SEEDS.map((c) => c.replicas))).toEqual(new Set([2, 3, 4, 5, 6, 7, 8]))
    expect(Math.min(...SEEDS.map((c) => c.steps))).toBeLessThan(30)
    expect(Math.max(...SEEDS.map((c) => c.steps))).toBeGreaterThan(900)
    expect(reproducer(SEEDS[0]!)).toMatch(/^npm run fuzz -- --seed 1 --replicas \d --steps \d+$/)
  })

  it.each(SEEDS)('seed $seed: $replicas replicas, $steps steps', (fuzzCase) => {
    runConvergenceCase(fuzzCase)
  })

  it.each(LONG)('long run: seed $seed, $replicas replicas, $steps steps', (fuzzCase) => {
    const stats = runConvergenceCase(fuzzCase)
    if (fuzzCase.steps >= 1000) {
      // The run really exercised concurrency: ops were parked and replicas restarted.
      expect(stats.maxPending).toBeGreaterThan(0)
      expect(stats.restarts).toBeGreaterThan(0)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Small explicit cases

/** A replica plus a model of its text maintained from the TextChange[] it reports. */
class Peer {
  readonly doc: TextDoc
  model = ''

  constructor(replica: string) {
    this.doc = new TextDoc(replica)
  }

  insert(index: number, text: string): Uint8Array {
    const batch = this.doc.localInsert(index, text)
    this.model = this.model.slice(0, index) + text + this.model.slice(index)
    expect(this.doc.toString()).toBe(this.model)
    return batch
  }

  delete(index: number, length: number): Uint8Array {
    const batch = this.doc.localDelete(index, length)
    this.model = this.model.slice(0, index) + this.model.slice(index + length)
    expect(this.doc.toString()).toBe(this.model)
    return batch
  }

  receive(...batches: Uint8Array[]): void {
    for (const batch of batches) {
      this.model = applyChanges(this.model, this.doc.applyRemote(batch))
      expect(this.doc.toString()).toBe(this.model)
      expect(this.doc.length).toBe(this.model.length)
    }
  }

  text(): string {
    return this.doc.toString()
  }
}

/** Full exchange between peers through changesSince, then everything must be identical. */
function syncAll(...peers: Peer[]): string {
  for (let round = 0; round < 2; round++) {
    for (const a of peers) for (const b of peers) if (a !== b) b.receive(a.doc.changesSince(b.doc.version()))
  }
  const text = peers[0]!.text()
  for (const p of peers) {
    expect(p.text()).toBe(text)
    expect(normalizeVersion(p.doc.version())).toEqual(normalizeVersion(peers[0]!.doc.version()))
    expect(p.doc.pendingCount()).toBe(0)
  }
  return text
}

function withBase(base: string, ...names: string[]): Peer[] {
  const peers = names.map((n) => new Peer(n))
  const batch = peers[0]!.insert(0, base)
  for (const p of peers.slice(1)) p.receive(batch)
  return peers
}

describe('explicit concurrent cases', () => {
  it('concurrent inserts at the same position keep both runs whole', () => {
    const [a, b] = withBase('hello world', 'alice', 'bob') as [Peer, Peer]
    const fromA = a.insert(5, ' there')
    const fromB = b.insert(5, ', you')
    a.receive(fromB)
    b.receive(fromA)
    expect(a.text()).toBe(b.text())
    expect(['hello there, you world', 'hello, you there world']).toContain(a.text())
    syncAll(a, b)
  })

  it('concurrent inserts at the start and end of an empty document', () => {
    const a = new Peer('a')
    const b = new Peer('b')
    const fromA = a.insert(0, 'foo')
    const fromB = b.insert(0, 'bar')
    b.receive(fromA)
    a.receive(fromB)
    expect(['foobar', 'barfoo']).toContain(a.text())
    expect(syncAll(a, b)).toBe(a.text())
  })

  it('concurrent delete of the same range deletes it once', () => {
    const [a, b, c] = withBase('hello cruel world', 'a', 'b', 'c') as [Peer, Peer, Peer]
    const fromA = a.delete(5, 6)
    const fromB = b.delete(5, 6)
    a.receive(fromB)
    b.receive(fromA)
    expect(a.text()).toBe('hello world')
    expect(b.text()).toBe('hello world')
    c.receive(fromA, fromB)
    expect(c.text()).toBe('hello world')
    syncAll(a, b, c)
  })

  it('concurrent overlapping deletes delete the union', () => {
    const [a, b] = withBase('0123456789', 'a', 'b') as [Peer, Peer]
    const fromA = a.delete(2, 4) // 2345
    const fromB = b.delete(4, 4) // 4567
    a.receive(fromB)
    b.receive(fromA)
    expect(a.text()).toBe('0189')
    expect(syncAll(a, b)).toBe('0189')
  })

  it('an insert inside a range another replica deletes survives', () => {
    const [a, b] = withBase('hello world', 'a', 'b') as [Peer, Peer]
    const del = a.delete(0, 11)
    const ins = b.insert(5, 'X')
    a.receive(ins)
    b.receive(del)
    expect(a.text()).toBe('X')
    expect(b.text()).toBe('X')
    syncAll(a, b)
  })

  it('delete then re-insert of the same text, concurrent with an insert next to it', () => {
    const a = new Peer('a')
    const b = new Peer('b')
    const base = a.insert(0, 'one two three')
    b.receive(base)
    const d = a.delete(4, 3)
    const i = a.insert(4, 'two')
    const meanwhile = b.insert(7, '!')
    // b gets the re-insert before the delete: the delete targets the old characters only.
    b.receive(i, d)
    a.receive(meanwhile)
    expect(a.text()).toBe(b.text())
    expect(a.text()).toMatch(/^one (two!|!two) three$/)
    const c = new Peer('c')
    c.receive(d, meanwhile, i, base)
    expect(c.text()).toBe(a.text())
    syncAll(a, b, c)
  })

  it('delete everything and retype, with a late replica', () => {
    const [a, b] = withBase('draft', 'a', 'b') as [Peer, Peer]
    const batches = [a.delete(0, 5), a.insert(0, 'final'), a.delete(0, 5), a.insert(0, 'final2')]
    b.receive(...[...batches].reverse())
    expect(b.text()).toBe('final2')
    expect(b.doc.pendingCount()).toBe(0)
    syncAll(a, b)
  })

  it('a 1 MB paste followed by concurrent edits inside it', () => {
    const rng = new Prng(99)
    const line = 'The quick brown fox jumps over the lazy dog 😀 0123456789 ✓\r\n'
    let big = ''
    while (big.length < 1_000_000) big += line
    const a = new Peer('a')
    const b = new Peer('b')
    const paste = a.insert(0, big)
    expect(a.doc.length).toBe(big.length)
    b.receive(paste)
    expect(b.text()).toBe(big)

    // Concurrent edits all over the pasted text: a inserts markers, b deletes ranges and inserts.
    const markers: string[] = []
    const fromA: Uint8Array[] = []
    const fromB: Uint8Array[] = []
    for (let k = 0; k < 50; k++) {
      markers.push(`[a${k}]`)
      fromA.push(a.insert(randomInsertIndex(rng, a.model), `[a${k}]`))
      const { index, length } = randomDeleteRange(rng, b.model, 500)
      fromB.push(b.delete(index, length))
      fromB.push(b.insert(randomInsertIndex(rng, b.model), `<b${k}>`))
    }
    const bLength = b.model.length
    a.receive(...fromB)
    b.receive(...fromA)
    expect(a.text()).toBe(b.text())
    // Nothing of a's was deleted concurrently, and b's deletes only removed b-visible text.
    expect(a.text().length).toBe(bLength + markers.join('').length)
    const merged = a.text()
    for (const m of markers) expect(merged).toContain(m)
    syncAll(a, b)
    const reloaded = TextDoc.load(a.doc.save(), 'a2')
    expect(reloaded.toString()).toBe(a.text())
  })
})
