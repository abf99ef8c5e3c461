/**
 * Runs typed concurrently into the same place must stay contiguous after the merge ("abcxyz" or
 * "xyzabc", never "axbycz"), whether typed forwards or backwards (Weidner & Kleppmann, "The
 * Art of the Fugue", 2023). Each keystroke is its own op batch, as in the editor.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { Prng, applyChanges, normalizeVersion } from './harness'

type Direction = 'forward' | 'backward'

/** Types `run` at `at`, one keystroke per batch: forwards (a, b, c) or backwards (c, b, a at `at`). */
function typeRun(doc: TextDoc, at: number, run: string, direction: Direction): Uint8Array[] {
  const chars = [...run]
  const batches: Uint8Array[] = []
  if (direction === 'forward') {
    let i = at
    for (const ch of chars) {
      batches.push(doc.localInsert(i, ch))
      i += ch.length
    }
  } else {
    for (const ch of chars.reverse()) batches.push(doc.localInsert(at, ch))
  }
  return batches
}

function receiveAll(doc: TextDoc, batches: readonly Uint8Array[]): void {
  for (const batch of batches) {
    const before = doc.toString()
    expect(applyChanges(before, doc.applyRemote(batch))).toBe(doc.toString())
  }
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  )
}

/** Every way the runs may legitimately end up: the runs whole, in some order, between prefix and suffix. */
function allowed(prefix: string, runs: readonly string[], suffix: string): string[] {
  return permutations(runs).map((order) => prefix + order.join('') + suffix)
}

interface Scenario {
  readonly base: string
  readonly at: number
  readonly runs: readonly { readonly run: string; readonly direction: Direction }[]
  /** How each replica receives the others' keystrokes. */
  readonly delivery: 'in order' | 'reversed' | 'alternating' | 'changesSince'
}

/**
 * Each replica starts from `base`, types its run concurrently, then receives everyone else's
 * keystrokes. Returns the final texts (one per replica) after checking they agree.
 */
function play(s: Scenario): string {
  const names = ['alice', 'bob', 'carol', 'dave']
  const docs = s.runs.map((_, i) => new TextDoc(names[i]!))
  if (s.base.length > 0) {
    const seed = docs[0]!.localInsert(0, s.base)
    for (const d of docs.slice(1)) receiveAll(d, [seed])
  }
  const typed = s.runs.map((r, i) => typeRun(docs[i]!, s.at, r.run, r.direction))
  docs.forEach((d, i) =>
    expect(d.toString()).toBe(s.base.slice(0, s.at) + s.runs[i]!.run + s.base.slice(s.at)),
  )

  docs.forEach((doc, i) => {
    const others = typed.filter((_, j) => j !== i)
    if (s.delivery === 'changesSince') {
      for (const j of docs.keys()) if (j !== i) receiveAll(doc, [docs[j]!.changesSince(doc.version())])
      return
    }
    let batches: Uint8Array[]
    if (s.delivery === 'alternating') {
      batches = []
      const longest = Math.max(...others.map((o) => o.length))
      for (let k = 0; k < longest; k++) for (const o of others) if (k < o.length) batches.push(o[k]!)
    } else {
      batches = others.flat()
      if (s.delivery === 'reversed') batches.reverse()
    }
    receiveAll(doc, batches)
  })

  const text = docs[0]!.toString()
  for (const d of docs) {
    expect(d.toString()).toBe(text)
    expect(d.pendingCount()).toBe(0)
    expect(normalizeVersion(d.version())).toEqual(normalizeVersion(docs[0]!.version()))
  }
  return text
}

const DELIVERIES = ['in order', 'reversed', 'alternating', 'changesSince'] as const

describe('no interleaving of concurrently typed runs', () => {
  describe.each(DELIVERIES)('delivered %s', (delivery) => {
    it('(a) two replicas typing forward at the same place', () => {
      const runs = [
        { run: 'abc', direction: 'forward' as const },
        { run: 'xyz', direction: 'forward' as const },
      ]
      expect(['abcxyz', 'xyzabc']).toContain(play({ base: '', at: 0, runs, delivery }))
    })

    it('(b) two replicas typing backward (every character at the same index)', () => {
      const runs = [
        { run: 'abc', direction: 'backward' as const },
        { run: 'xyz', direction: 'backward' as const },
      ]
      expect(['abcxyz', 'xyzabc']).toContain(play({ base: '', at: 0, runs, delivery }))
    })

    it('(c) in the middle of existing text, forward and backward', () => {
      const base = 'hello world'
      for (const direction of ['forward', 'backward'] as const) {
        const runs = [
          { run: 'abc', direction },
          { run: 'xyz', direction },
        ]
        expect(allowed('hello', ['abc', 'xyz'], ' world')).toContain(play({ base, at: 5, runs, delivery }))
      }
      const mixed = [
        { run: 'abc', direction: 'forward' as const },
        { run: 'xyz', direction: 'backward' as const },
      ]
      expect(allowed('hello', ['abc', 'xyz'], ' world')).toContain(
        play({ base, at: 5, runs: mixed, delivery }),
      )
    })

    it('(d) three replicas, forward, backward and mixed', () => {
      const runs3 = ['abc', 'xyz', '123']
      const patterns: Direction[][] = [
        ['forward', 'forward', 'forward'],
        ['backward', 'backward', 'backward'],
        ['forward', 'backward', 'forward'],
        ['backward', 'forward', 'backward'],
      ]
      for (const directions of patterns) {
        const runs = runs3.map((run, i) => ({ run, direction: directions[i]! }))
        expect(allowed('', runs3, '')).toContain(play({ base: '', at: 0, runs, delivery }))
        expect(allowed('hello', runs3, ' world')).toContain(
          play({ base: 'hello world', at: 5, runs, delivery }),
        )
      }
    })
  })

  it('keeps longer runs with emoji and CRLF whole, for random run lengths and directions', () => {
    const rng = new Prng(31337)
    const alphabets = ['abcdefgh', 'ABCDEFGH', '12345678', '😀😁😂🤣😃😄😅😆']
    for (let trial = 0; trial < 60; trial++) {
      const k = rng.range(2, 4)
      const runs = alphabets.slice(0, k).map((letters) => {
        const chars = [...letters].slice(0, rng.range(1, 8))
        if (rng.chance(0.3)) chars.push('\r\n')
        return {
          run: chars.join(''),
          direction: rng.chance(0.5) ? ('forward' as const) : ('backward' as const),
        }
      })
      const base = rng.chance(0.5) ? '' : 'start|end'
      const at = base === '' ? 0 : 6
      const delivery = rng.pick(DELIVERIES)
      const text = play({ base, at, runs, delivery })
      const all = allowed(
        base.slice(0, at),
        runs.map((r) => r.run),
        base.slice(at),
      )
      expect(all, `trial ${trial}: ${JSON.stringify(runs)} delivered ${delivery}`).toContain(text)
    }
  })
})
