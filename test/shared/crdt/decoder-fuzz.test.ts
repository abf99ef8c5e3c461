/**
 * Every byte string a peer or a disk can hand us goes through four decoders: TextDoc.applyRemote,
 * TextDoc.load, LwwMap.applyRemote and LwwMap.load. Fed real batches and snapshots mangled in every
 * way we can think of, each must either succeed or throw CrdtDecodeError, never anything else, never
 * hang; and a replica that rejected a batch must be exactly as it was.
 */
import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, LwwMap, TextDoc, type VersionVector } from '../../../src/shared/crdt'
import { Prng, applyChanges, randomDeleteRange, randomInsertIndex, randomText, versionKey } from './harness'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const SEED = 0xdec0de
/** Mutated or random buffers fed to each of the four decoders. */
const PER_TARGET = 50_000
/** A single decode taking longer than this counts as a hang. */
const SLOW_MS = 1_000

// ---------------------------------------------------------------------------------------------
// A corpus of real encodings

interface Corpus {
  readonly textBatches: Uint8Array[]
  readonly textSaves: Uint8Array[]
  readonly mapBatches: Uint8Array[]
  readonly mapSaves: Uint8Array[]
}

function buildCorpus(rng: Prng): Corpus {
  const textBatches: Uint8Array[] = []
  const textSaves: Uint8Array[] = []
  const ids = ['a', 'B7', 'ü-peer', 'x'.repeat(64), 'replica_2']
  const docs = ids.map((id) => new TextDoc(id))
  for (let round = 0; round < 120; round++) {
    const doc = rng.pick(docs)
    const text = doc.toString()
    let batch: Uint8Array
    if (text.length > 0 && rng.chance(0.35)) {
      const { index, length } = randomDeleteRange(rng, text, 8)
      batch = doc.localDelete(index, length)
    } else {
      batch = doc.localInsert(randomInsertIndex(rng, text), rng.chance(0.5) ? 'k' : randomText(rng, 6))
    }
    textBatches.push(batch)
    if (rng.chance(0.5)) rng.pick(docs).applyRemote(rng.pick(textBatches))
  }
  const typist = new TextDoc('typist')
  for (const ch of 'hello, wörld 😀\r\n') textBatches.push(typist.localInsert(typist.length, ch))
  for (const n of [1, 1, 2, 1]) textBatches.push(typist.localDelete(typist.length - n, n)) // \n, \r, 😀, ' '
  textBatches.push(typist.localInsert(0, ''), typist.localDelete(0, 0))
  for (const doc of docs) {
    textBatches.push(doc.changesSince({}), doc.changesSince(rng.pick(docs).version()))
    textSaves.push(doc.save())
  }
  textSaves.push(new TextDoc('empty').save(), typist.save())

  const mapBatches: Uint8Array[] = []
  const mapSaves: Uint8Array[] = []
  let now = 1_700_000_000_000
  const maps = ['m1', 'Ω', 'y'.repeat(64)].map((id) => new LwwMap<Json>(id, { clock: () => now }))
  const values: Json[] = [1, 'two', null, true, [1, [2]], { title: 'Notes', tags: ['a', 'ü'] }, '😀', -0.5]
  for (let round = 0; round < 60; round++) {
    now += rng.range(-5, 20)
    const map = rng.pick(maps)
    const key = rng.pick(['title', 'owner', 'member/1', 'member/2', '', 'ключ'])
    mapBatches.push(rng.chance(0.25) ? map.delete(key) : map.set(key, rng.pick(values)))
    if (rng.chance(0.5)) rng.pick(maps).applyRemote(rng.pick(mapBatches))
  }
  for (const map of maps) {
    mapBatches.push(map.changesSince({}), map.changesSince(rng.pick(maps).version()))
    mapSaves.push(map.save())
  }
  mapSaves.push(new LwwMap<Json>('empty').save())
  return { textBatches, textSaves, mapBatches, mapSaves }
}

// ---------------------------------------------------------------------------------------------
// Mutations

function leb128(n: bigint): number[] {
  const out: number[] = []
  let v = n
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}

const HUGE_VARINTS: readonly number[][] = [
  leb128(2n ** 31n),
  leb128(2n ** 32n - 1n),
  leb128(2n ** 32n),
  leb128(2n ** 53n - 1n),
  leb128(2n ** 53n),
  leb128(2n ** 63n),
  leb128(2n ** 64n - 1n),
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  new Array<number>(40).fill(0x80).concat([0x01]),
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80], // never terminates
]

function splice(base: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(base.length - remove + insert.length)
  out.set(base.subarray(0, at), 0)
  out.set(insert, at)
  out.set(base.subarray(at + remove), at + insert.length)
  return out
}

type Mutation = (rng: Prng, base: Uint8Array, pool: readonly Uint8Array[]) => Uint8Array

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(rng, base) {
    const out = base.slice()
    if (out.length === 0) return out
    for (let n = rng.range(1, 3); n > 0; n--) out[rng.int(out.length)]! ^= 1 << rng.int(8)
    return out
  },
  byteSet(rng, base) {
    const out = base.slice()
    if (out.length === 0) return out
    out[rng.int(out.length)] = rng.pick([0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff, rng.int(256)])
    return out
  },
  truncate(rng, base) {
    return base.slice(0, rng.int(base.length + 1))
  },
  dropHead(rng, base) {
    return base.slice(rng.range(1, Math.max(1, Math.min(8, base.length))))
  },
  insertBytes(rng, base) {
    return splice(base, rng.int(base.length + 1), 0, rng.bytes(rng.range(1, 8)))
  },
  deleteSpan(rng, base) {
    const at = rng.int(base.length + 1)
    return splice(base, at, Math.min(base.length - at, rng.range(1, 16)), [])
  },
  duplicateSpan(rng, base) {
    const from = rng.int(base.length + 1)
    const span = base.slice(from, from + rng.range(1, 32))
    return splice(base, rng.int(base.length + 1), 0, span)
  },
  hugeVarintInserted(rng, base) {
    return splice(base, rng.int(base.length + 1), 0, rng.pick(HUGE_VARINTS))
  },
  hugeVarintOverwrite(rng, base) {
    const v = rng.pick(HUGE_VARINTS)
    const at = rng.int(base.length + 1)
    return splice(base, at, Math.min(v.length, base.length - at), v)
  },
  /** A length or count field (a varint near the start) claiming more than what follows. */
  lengthBeyondEnd(rng, base) {
    const at = rng.int(Math.min(base.length, 24) + 1)
    const claim = BigInt(base.length - at + rng.range(1, 1000))
    const oldLength = at < base.length && base[at]! >= 0x80 ? 2 : 1
    return splice(base, at, Math.min(oldLength, base.length - at), leb128(claim))
  },
  concatenate(rng, base, pool) {
    const other = rng.pick(pool)
    return rng.chance(0.5) ? splice(base, base.length, 0, other) : splice(other, other.length, 0, base)
  },
  crossover(rng, base, pool) {
    const other = rng.pick(pool)
    const cut = rng.int(base.length + 1)
    return splice(base, cut, base.length - cut, other.subarray(rng.int(other.length + 1)))
  },
  randomWithRealHead(rng, base) {
    return splice(rng.bytes(rng.int(48)), 0, 0, base.subarray(0, rng.range(1, 3)))
  },
  randomBytes(rng) {
    return rng.bytes(rng.int(64))
  },
}
const MUTATION_NAMES = Object.keys(MUTATIONS)

function mutate(
  rng: Prng,
  base: Uint8Array,
  pool: readonly Uint8Array[],
): { bytes: Uint8Array; how: string } {
  let bytes = base
  const how: string[] = []
  for (let n = rng.chance(0.7) ? 1 : rng.range(2, 4); n > 0; n--) {
    const name = rng.pick(MUTATION_NAMES)
    bytes = MUTATIONS[name]!(rng, bytes, pool)
    how.push(name)
  }
  return { bytes, how: how.join('+') }
}

// ---------------------------------------------------------------------------------------------
// Targets

interface Outcome {
  readonly ok: boolean
  readonly error?: unknown
}

interface Target {
  readonly name: string
  /** Encodings of the same kind (mutated most of the time), and of the other kinds. */
  readonly own: readonly Uint8Array[]
  /** Feeds `bytes`; throws a plain Error describing any broken invariant. */
  feed(bytes: Uint8Array): Outcome
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function isDecodeError(error: unknown): boolean {
  return error instanceof CrdtDecodeError && error.code === 'CRDT_DECODE'
}

function textState(doc: TextDoc): string {
  return `${JSON.stringify(doc.toString())} ${versionKey(doc.version())} pending=${doc.pendingCount()}`
}

function mapState(map: LwwMap<Json>): string {
  const entries = map.entries().sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  return `${JSON.stringify(entries)} ${versionKey(map.version())} pending=${map.pendingCount()}`
}

/** A loaded document must be usable: readable, and savable and loadable again. */
function checkUsableText(doc: TextDoc): void {
  const text = doc.toString()
  if (doc.length !== text.length) throw new Error(`loaded doc: length ${doc.length} != ${text.length}`)
  const again = TextDoc.load(doc.save(), 'again')
  if (again.toString() !== text) throw new Error('loaded doc does not survive save/load')
  doc.localInsert(0, 'x')
}

function checkUsableMap(map: LwwMap<Json>): void {
  const state = mapState(map)
  const again = LwwMap.load<Json>(map.save(), 'again')
  if (mapState(again) !== state) throw new Error('loaded map does not survive save/load')
  map.set('probe', 1)
}

function textApplyTarget(corpus: Corpus): Target {
  const base = corpus.textSaves[0]!
  let doc = TextDoc.load(base, 'fuzzed')
  let accepted = 0
  return {
    name: 'TextDoc.applyRemote',
    own: corpus.textBatches,
    feed(bytes) {
      // Accepted batches change the document; start over now and then so it stays small.
      if (accepted > 200) {
        doc = TextDoc.load(base, 'fuzzed')
        accepted = 0
      }
      const before = doc.toString()
      const state = textState(doc)
      let changes
      try {
        changes = doc.applyRemote(bytes)
      } catch (error) {
        if (isDecodeError(error) && textState(doc) !== state) {
          throw new Error(`rejected batch changed the doc: ${state} -> ${textState(doc)}`, { cause: error })
        }
        return { ok: false, error }
      }
      accepted++
      const after = doc.toString()
      if (applyChanges(before, changes) !== after) throw new Error('reported changes do not match the text')
      if (doc.length !== after.length) throw new Error('length does not match toString()')
      return { ok: true }
    },
  }
}

function textLoadTarget(corpus: Corpus): Target {
  return {
    name: 'TextDoc.load',
    own: corpus.textSaves,
    feed(bytes) {
      let doc: TextDoc
      try {
        doc = TextDoc.load(bytes, 'loaded')
      } catch (error) {
        return { ok: false, error }
      }
      checkUsableText(doc)
      return { ok: true }
    },
  }
}

function mapApplyTarget(corpus: Corpus): Target {
  const base = corpus.mapSaves[0]!
  let map = LwwMap.load<Json>(base, 'fuzzed', { clock: () => 0 })
  let accepted = 0
  return {
    name: 'LwwMap.applyRemote',
    own: corpus.mapBatches,
    feed(bytes) {
      if (accepted > 200) {
        map = LwwMap.load<Json>(base, 'fuzzed', { clock: () => 0 })
        accepted = 0
      }
      const state = mapState(map)
      try {
        map.applyRemote(bytes)
      } catch (error) {
        if (isDecodeError(error) && mapState(map) !== state) {
          throw new Error(`rejected batch changed the map: ${state} -> ${mapState(map)}`, { cause: error })
        }
        return { ok: false, error }
      }
      accepted++
      mapState(map)
      return { ok: true }
    },
  }
}

function mapLoadTarget(corpus: Corpus): Target {
  return {
    name: 'LwwMap.load',
    own: corpus.mapSaves,
    feed(bytes) {
      let map: LwwMap<Json>
      try {
        map = LwwMap.load<Json>(bytes, 'loaded', { clock: () => 0 })
      } catch (error) {
        return { ok: false, error }
      }
      checkUsableMap(map)
      return { ok: true }
    },
  }
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64')
}

interface FuzzReport {
  readonly fed: number
  readonly accepted: number
  readonly slowestMs: number
  readonly failures: string[]
}

function fuzzTarget(target: Target, corpus: Corpus, seed: number, n: number): FuzzReport {
  const rng = new Prng(seed)
  const everything = [...corpus.textBatches, ...corpus.textSaves, ...corpus.mapBatches, ...corpus.mapSaves]
  const failures: string[] = []
  let accepted = 0
  let slowestMs = 0
  for (let i = 0; i < n && failures.length < 10; i++) {
    const r = rng.next()
    // Mostly mutations of this decoder's own kind of input; some of other kinds, some unmutated.
    const base = r < 0.8 ? rng.pick(target.own) : rng.pick(everything)
    const { bytes, how } = r < 0.97 ? mutate(rng, base, everything) : { bytes: base, how: 'unmutated' }
    const started = performance.now()
    let outcome: Outcome
    try {
      outcome = target.feed(bytes)
    } catch (error) {
      failures.push(`#${i} ${how}: ${describeError(error)}; bytes (base64) ${toBase64(bytes)}`)
      continue
    }
    const ms = performance.now() - started
    slowestMs = Math.max(slowestMs, ms)
    if (ms > SLOW_MS)
      failures.push(`#${i} ${how}: took ${ms.toFixed(0)} ms; bytes (base64) ${toBase64(bytes)}`)
    if (outcome.ok) accepted++
    else if (!isDecodeError(outcome.error)) {
      failures.push(
        `#${i} ${how}: threw ${describeError(outcome.error)} instead of CrdtDecodeError; ` +
          `bytes (base64) ${toBase64(bytes)}`,
      )
    }
  }
  return { fed: n, accepted, slowestMs, failures }
}

// ---------------------------------------------------------------------------------------------

describe('decoders under random and mutated input', () => {
  const corpus = buildCorpus(new Prng(SEED))

  it('builds a corpus of real batches and snapshots that decode', () => {
    expect(corpus.textBatches.length).toBeGreaterThan(100)
    expect(corpus.mapBatches.length).toBeGreaterThan(50)
    const doc = new TextDoc('check')
    for (const batch of corpus.textBatches) doc.applyRemote(batch)
    for (const save of corpus.textSaves) TextDoc.load(save, 'check')
    const map = new LwwMap<Json>('check')
    for (const batch of corpus.mapBatches) map.applyRemote(batch)
    for (const save of corpus.mapSaves) LwwMap.load<Json>(save, 'check')
    expect(doc.pendingCount()).toBe(0)
    expect(map.pendingCount()).toBe(0)
  })

  const targets: ((c: Corpus) => Target)[] = [textApplyTarget, textLoadTarget, mapApplyTarget, mapLoadTarget]
  it.each(targets.map((make, i) => ({ make, i, name: make(corpus).name })))(
    '$name: CrdtDecodeError or success, never anything else',
    ({ make, i }) => {
      const report = fuzzTarget(make(corpus), corpus, SEED + i, PER_TARGET)
      expect(report.failures).toEqual([])
      // The mutations are not so destructive that nothing ever decodes, nor so mild that all does.
      expect(report.accepted).toBeGreaterThan(0)
      expect(report.accepted).toBeLessThan(report.fed)
    },
  )

  it('rejects the other type and plain garbage without changing anything', () => {
    const doc = TextDoc.load(corpus.textSaves[0]!, 'd')
    const map = LwwMap.load<Json>(corpus.mapSaves[0]!, 'm')
    const docState = textState(doc)
    const mapState0 = mapState(map)
    const garbage = [
      new Uint8Array([0xff]),
      new Uint8Array([0x00, 0x00, 0x00]),
      new TextEncoder().encode('{"ops":[]}'),
    ]
    for (const bytes of [...corpus.mapBatches.slice(0, 5), ...corpus.mapSaves, ...garbage]) {
      expect(() => doc.applyRemote(bytes)).toThrow(CrdtDecodeError)
    }
    for (const bytes of [...corpus.textBatches.slice(0, 5), ...corpus.textSaves, ...garbage]) {
      expect(() => map.applyRemote(bytes)).toThrow(CrdtDecodeError)
    }
    for (const bytes of [...corpus.mapSaves, ...corpus.mapBatches.slice(0, 5), ...garbage]) {
      expect(() => TextDoc.load(bytes, 'x')).toThrow(CrdtDecodeError)
    }
    for (const bytes of [...corpus.textSaves, ...corpus.textBatches.slice(0, 5), ...garbage]) {
      expect(() => LwwMap.load<Json>(bytes, 'x')).toThrow(CrdtDecodeError)
    }
    expect(textState(doc)).toBe(docState)
    expect(mapState(map)).toBe(mapState0)
  })

  it('a batch that fails half-way applies none of its ops', () => {
    // A real multi-op batch whose tail is cut: the ops before the cut must not be applied.
    const source = new TextDoc('src')
    source.localInsert(0, 'hello world')
    source.localDelete(0, 6)
    source.localInsert(5, ' again')
    const full = source.changesSince({})
    let doc = new TextDoc('dst')
    let rejected = 0
    for (let cut = 1; cut < full.length; cut++) {
      const before: [string, VersionVector, number] = [doc.toString(), doc.version(), doc.pendingCount()]
      try {
        doc.applyRemote(full.subarray(0, cut))
        // Accepted: then it was a complete batch of its own; start again from an empty replica.
        doc = new TextDoc('dst')
      } catch (error) {
        expect(error).toBeInstanceOf(CrdtDecodeError)
        expect([doc.toString(), doc.version(), doc.pendingCount()]).toEqual(before)
        rejected++
      }
    }
    expect(rejected).toBeGreaterThan(full.length / 2)
    doc.applyRemote(full)
    expect(doc.toString()).toBe(source.toString())
  })
})
