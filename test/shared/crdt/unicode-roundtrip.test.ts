/**
 * Every string round-trips exactly through every codec, at every boundary (issue 16).
 *
 * A TextDecoder made without `ignoreBOM` drops a U+FEFF that is the first character of what it decodes.
 * The CRDT codecs decode a whole batch's text, a snapshot's text, every LwwMap key and value and every
 * string of a sync message in one call each, so a U+FEFF at the start of any of them vanished: an insert
 * that began with one no longer matched its length and its batch was refused, and so was its op-log
 * record after a restart. These tests put U+FEFF (and NUL, U+2028/9, astral, U+FFFE/U+FFFF, combining
 * marks, CR LF…) at each such start: of an insert, of a batch, of a chunk of a split batch, of a
 * catch-up batch cut inside a merged op, of the document, of a property key and value, of a replica ID
 * and of every string field of the wire protocols, and check that every path gives back the very same
 * text. Seeded: each failure message starts with its seed; `UNICODE_SEED=<n>` reruns from n.
 */
import { describe, expect, it } from 'vitest'
import { LwwMap, TextDoc, splitTextBatch, type VersionVector } from '../../../src/shared/crdt'
import { ByteWriter } from '../../../src/shared/crdt/bytes'
import { writeHeader } from '../../../src/shared/crdt/replica-table'
import { decodeTextOps } from '../../../src/shared/crdt/text-codec'
import { encodeFrame, FrameDecoder } from '../../../src/shared/sync/framing'
import { Channel, decodeMessage, encodeMessage, type Message } from '../../../src/shared/sync/messages'
import { TEXT_CHUNK_BYTES } from '../../../src/shared/sync/session'
import { decodeWire, encodeWire } from '../../../src/shared/wire-json'
import { applyChanges, Prng, randomDeleteRange, randomInsertIndex } from './harness'
import {
  CLASS_NAMES,
  classOf,
  firstClass,
  piece,
  unicodeString,
  visible,
  type CharClass,
} from './unicode-strings'

const BASE_SEED = Number(process.env['UNICODE_SEED'] ?? 16_000)
const TEXT_CASES = 300
const MAP_CASES = 200
const MESSAGE_CASES = 200
const NOW = 1_700_000_000_000
const clock = (): number => NOW
const DOC_ID = '0123456789abcdef0123456789abcdef'
const BOM = '\uFEFF'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The same version vector, whatever the key order. */
function expectSameVersion(actual: VersionVector, expected: VersionVector, why: string): void {
  expect({ ...actual }, why).toEqual({ ...expected })
}

/** A failure message: the seed first, then the expected text escaped, so a lost U+FEFF shows. */
const says = (seed: number, what: string, text?: string): string =>
  `seed ${seed}: ${what}${text === undefined ? '' : ` (expected ${visible(text)})`}`

// ---------------------------------------------------------------------------------------------
// A seeded editing session

interface Session {
  readonly doc: TextDoc
  /** Every batch the edits returned, in order. */
  readonly batches: Uint8Array[]
  /** How many batches had been made at a random point in the middle. */
  readonly middle: number
}

/**
 * 4–14 edits on a fresh doc: whole inserts (at the start, the end, or anywhere), keystroke runs
 * (which TextDoc merges into one logged op, so a catch-up batch can start inside it) and deletes.
 * Every insert starts with a class drawn by `firstClass` (U+FEFF 40% of the time); half the sessions
 * also end with a U+FEFF at the very start and the very end of the document.
 */
function session(p: Prng, replica = 'alice'): Session {
  const doc = new TextDoc(replica, { clock })
  const batches: Uint8Array[] = []
  const steps = p.range(4, 14)
  const middleStep = p.int(steps)
  let middle = 0
  for (let step = 0; step < steps; step++) {
    if (step === middleStep) middle = batches.length
    const text = doc.toString()
    const roll = p.next()
    if (text.length > 0 && roll < 0.2) {
      const { index, length } = randomDeleteRange(p, text, 6)
      batches.push(doc.localDelete(index, length))
    } else if (roll < 0.4) {
      // Typing: piece by piece at the caret, the first piece of the drawn class.
      let at = p.chance(0.5) ? 0 : randomInsertIndex(p, text)
      const n = p.range(2, 8)
      for (let k = 0; k < n; k++) {
        const s = k === 0 ? piece(p, firstClass(p)) : p.chance(0.3) ? BOM : piece(p, p.pick(CLASS_NAMES))
        batches.push(doc.localInsert(at, s))
        at += s.length
      }
    } else {
      const where = p.next()
      const at = where < 0.3 ? 0 : where < 0.5 ? text.length : randomInsertIndex(p, text)
      batches.push(doc.localInsert(at, unicodeString(p, p.range(1, 12), firstClass(p))))
    }
  }
  if (p.chance(0.5)) {
    batches.push(doc.localInsert(0, BOM + unicodeString(p, p.range(0, 3))))
    batches.push(doc.localInsert(doc.length, unicodeString(p, p.range(0, 3)) + BOM))
  }
  return { doc, batches, middle }
}

/** The first inserted text a batch carries ('' if none): what a decoder meets first. */
function firstInsertText(batch: Uint8Array): string {
  for (const op of decodeTextOps(batch).ops) if (op.kind === 0) return op.text
  return ''
}

/** The smallest chunk size splitTextBatch accepts for this batch (as split.test.ts computes it). */
function minimumChunk(batch: Uint8Array): number {
  const head = new ByteWriter()
  writeHeader(head, 5, decodeTextOps(batch).replicas)
  return head.length + 9 + 73 + 4
}

/** Frames, concatenated as a stream and cut at random places, back through a FrameDecoder. */
function throughStream(p: Prng, messages: readonly Message[]): Message[] {
  const frames = messages.map((m) => encodeFrame(encodeMessage(m)))
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0))
  let at = 0
  for (const f of frames) {
    stream.set(f, at)
    at += f.length
  }
  const decoder = new FrameDecoder()
  const out: Message[] = []
  for (let from = 0; from < stream.length;) {
    const to = Math.min(stream.length, from + p.range(1, 64))
    for (const payload of decoder.push(stream.subarray(from, to))) out.push(decodeMessage(payload))
    from = to
  }
  decoder.end()
  return out
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/**
 * Decoded messages equal the sent ones, checked by encoding both (the encoding is injective for
 * well-formed strings, so a lost or changed character shows) — much faster than a deep toEqual.
 */
function sameMessages(received: readonly Message[], sent: readonly Message[]): boolean {
  return (
    received.length === sent.length &&
    received.every((m, i) => sameBytes(encodeMessage(m), encodeMessage(sent[i]!)))
  )
}

/** Counts of the classes that chunks of split batches started with, over all cases. */
const chunkStarts = new Map<CharClass, number>()

/** Every way the session's text can travel or be stored, each checked against the text itself. */
function checkSession(seed: number, p: Prng, s: Session): void {
  const { doc, batches } = s
  const expected = doc.toString()
  const version = doc.version()
  const same = (other: TextDoc, what: string): void => {
    expect(other.toString(), says(seed, what, expected)).toBe(expected)
    expectSameVersion(other.version(), version, says(seed, `${what}: version`))
    expect(other.pendingCount(), says(seed, `${what}: parked ops`)).toBe(0)
  }

  // 1. Live: every batch as sent, and the changes each reports rebuild the text too.
  const live = new TextDoc('bob', { clock })
  let model = ''
  for (const b of batches) model = applyChanges(model, live.applyRemote(b))
  same(live, 'live batches')
  expect(model, says(seed, 'TextChange model of the live batches', expected)).toBe(expected)

  // 2. Snapshots: of the editing replica (positional ops) and of the receiving one (ops by ID).
  same(TextDoc.load(doc.save(), 'carol', { clock }), 'load(save()) of the editor')
  same(TextDoc.load(live.save(), 'dave', { clock }), 'load(save()) of a receiver')

  // 3. Catch-up: everything, and what a replica that stopped halfway lacks (may start inside a merged op).
  const all = doc.changesSince({})
  const fresh = new TextDoc('erin', { clock })
  fresh.applyRemote(all)
  same(fresh, 'changesSince({})')
  const behind = new TextDoc('fred', { clock })
  for (const b of batches.slice(0, s.middle)) behind.applyRemote(b)
  behind.applyRemote(doc.changesSince(behind.version()))
  same(behind, `changesSince(version after ${s.middle} batches)`)

  // 4. Split: chunks of the catch-up batch, from the smallest size that holds an op up to a few hundred bytes.
  const min = minimumChunk(all)
  const maxBytes = p.range(min, min + 300)
  const chunks = splitTextBatch(all, maxBytes)
  const split = new TextDoc('gail', { clock })
  for (const c of chunks) {
    const first = firstInsertText(c)
    if (first !== '') chunkStarts.set(classOf(first), (chunkStarts.get(classOf(first)) ?? 0) + 1)
    split.applyRemote(c)
  }
  same(split, `${chunks.length} chunks of at most ${maxBytes} bytes`)

  // 5. Sync protocol: live updates and a sync reply, framed, as a byte stream cut anywhere.
  const props = new LwwMap<Json>('alice', { clock })
  const propsBatch = props.set(BOM + 'title', BOM + expected.slice(0, 40))
  const messages: Message[] = [
    ...batches.map((batch): Message => ({
      type: 'update',
      docId: DOC_ID,
      channel: Channel.Text,
      batch,
      sentTo: [],
    })),
    { type: 'sync-reply', docId: DOC_ID, batches: [all, propsBatch, new Uint8Array(0), new Uint8Array(0)] },
  ]
  const received = throughStream(p, messages)
  expect(sameMessages(received, messages), says(seed, 'sync messages through frames')).toBe(true)
  const wired = new TextDoc('hank', { clock })
  for (const m of received) if (m.type === 'update') wired.applyRemote(m.batch)
  same(wired, 'updates through the sync protocol')
  const reply = received[received.length - 1]!
  if (reply.type !== 'sync-reply') throw new Error('the last message is the sync reply')
  const replied = new TextDoc('ivan', { clock })
  replied.applyRemote(reply.batches[0])
  same(replied, 'sync-reply text')
  const repliedProps = new LwwMap<Json>('ivan', { clock })
  repliedProps.applyRemote(reply.batches[1])
  expect(repliedProps.entries(), says(seed, 'sync-reply properties')).toEqual(props.entries())

  // 6. Browser mode: a string field that is the text itself, and the batch as a raw blob.
  const event = { kind: 'event', event: { type: 'ops', docId: DOC_ID, text: expected, batch: all } }
  const decoded = decodeWire(encodeWire(event)) as typeof event
  expect(decoded.event.text, says(seed, 'wire-json string field', expected)).toBe(expected)
  expect(sameBytes(decoded.event.batch, all), says(seed, 'wire-json blob')).toBe(true)
  const viaWire = new TextDoc('jane', { clock })
  viaWire.applyRemote(decoded.event.batch)
  same(viaWire, 'wire-json batch')
}

describe('TextDoc: every string round-trips exactly through every codec', () => {
  it(`${TEXT_CASES} seeded sessions: live batches, snapshots, catch-up, split chunks, sync frames, wire-json`, () => {
    let bomFirst = 0
    for (let i = 0; i < TEXT_CASES; i++) {
      const seed = BASE_SEED + i
      const p = new Prng(seed)
      const s = session(p)
      if (s.doc.toString().startsWith(BOM)) bomFirst++
      try {
        checkSession(seed, p, s)
      } catch (err) {
        if (err instanceof Error && !err.message.includes(`seed ${seed}`))
          err.message = `seed ${seed}: ${err.message}`
        throw err
      }
    }
    // The boundaries were really exercised: documents and chunks that start with U+FEFF.
    expect(bomFirst).toBeGreaterThan(TEXT_CASES / 4)
    expect(chunkStarts.get('bom') ?? 0).toBeGreaterThan(TEXT_CASES / 4)
    for (const cls of CLASS_NAMES)
      expect(chunkStarts.get(cls) ?? 0, `chunks starting with ${cls}`).toBeGreaterThan(0)
  })

  it('keeps an insert that is only U+FEFF, or starts with it, at the start of an empty document', () => {
    for (const text of [
      BOM,
      BOM + BOM,
      BOM + 'X',
      BOM + '\u0000',
      BOM + '\u{1F600}',
      BOM + '\r\n',
      BOM + '\u0301',
    ]) {
      const a = new TextDoc('alice', { clock })
      const batch = a.localInsert(0, text)
      expect(firstInsertText(batch), visible(text)).toBe(text)
      const b = new TextDoc('bob', { clock })
      expect(b.applyRemote(batch), visible(text)).toEqual([{ index: 0, deleted: 0, inserted: text }])
      expect(b.toString(), visible(text)).toBe(text)
      expect(TextDoc.load(a.save(), 'carol').toString(), visible(text)).toBe(text)
      const c = new TextDoc('carol', { clock })
      c.applyRemote(a.changesSince({}))
      expect(c.toString(), visible(text)).toBe(text)
    }
  })

  it('reproduces issue 16: U+FEFF then "Y" typed before "abc", through batches, snapshot and catch-up', () => {
    const a = new TextDoc('alice', { clock })
    const batches = [a.localInsert(0, 'abc\n'), a.localInsert(0, `${BOM}X`), a.localInsert(0, 'Y')]
    expect(a.toString()).toBe(`Y${BOM}Xabc\n`)
    const b = new TextDoc('bob', { clock })
    for (const batch of batches) b.applyRemote(batch)
    expect(b.toString()).toBe(`Y${BOM}Xabc\n`)
    expect(b.pendingCount()).toBe(0)
    // As the op log replays them after a restart: each record alone, in order, into a fresh replica.
    const replay = new TextDoc('restart', { clock })
    for (const batch of batches) replay.applyRemote(batch.slice())
    expect(replay.toString()).toBe(`Y${BOM}Xabc\n`)
    expect(TextDoc.load(a.save(), 'carol').toString()).toBe(`Y${BOM}Xabc\n`)
    const c = new TextDoc('carol', { clock })
    c.applyRemote(a.changesSince({}))
    expect(c.toString()).toBe(`Y${BOM}Xabc\n`)
  })

  it('a catch-up batch that starts inside a typed run, exactly at a U+FEFF', () => {
    const a = new TextDoc('alice', { clock })
    const typed = ['a', 'b', BOM, 'c', BOM, '\u{1F600}', 'd']
    const batches: Uint8Array[] = []
    let at = 0
    for (const ch of typed) {
      batches.push(a.localInsert(at, ch))
      at += ch.length
    }
    const whole = typed.join('')
    // Each peer saw the first k keystrokes; what it lacks starts with keystroke k (a U+FEFF for k = 2, 4).
    for (let k = 0; k <= typed.length; k++) {
      const peer = new TextDoc('bob', { clock })
      for (const b of batches.slice(0, k)) peer.applyRemote(b)
      const missing = a.changesSince(peer.version())
      if (k < typed.length) expect(firstInsertText(missing), `after ${k}`).toBe(typed.slice(k).join(''))
      peer.applyRemote(missing)
      expect(peer.toString(), `after ${k}`).toBe(whole)
    }
  })

  it('a split batch whose chunks start exactly with U+FEFF, at small sizes and at the session’s 1 MiB', () => {
    const p = new Prng(BASE_SEED)
    let exact = 0
    for (let i = 0; i < 40; i++) {
      // Find where the first chunk of some text ends, then put U+FEFF exactly there. Two of them: if the
      // cut was before a 4-byte character, one 3-byte U+FEFF may still fit; the second then starts the chunk.
      const a = new TextDoc('alice', { clock })
      const body = unicodeString(p, p.range(150, 300), firstClass(p))
      const probe = a.localInsert(0, body)
      const maxBytes = p.range(minimumChunk(probe), minimumChunk(probe) + 120)
      const firstLength = firstInsertText(splitTextBatch(probe, maxBytes)[0]!).length
      // The same replica ID: the same header, so the same room for text in the first chunk.
      const b = new TextDoc('alice', { clock })
      const text = body.slice(0, firstLength) + BOM + BOM + body.slice(firstLength)
      const batch = b.localInsert(0, text)
      const chunks = splitTextBatch(batch, maxBytes)
      expect(chunks.length, `case ${i}`).toBeGreaterThan(1)
      if (firstInsertText(chunks[1]!).startsWith(BOM)) exact++
      const c = new TextDoc('carol', { clock })
      for (const chunk of chunks) c.applyRemote(chunk)
      expect(c.toString(), `case ${i}: ${visible(text)}`).toBe(text)
    }
    expect(exact).toBe(40)

    // The size the sync session splits at: a 1.2 MB paste whose second chunk begins with U+FEFF.
    const big = 'x'.repeat(TEXT_CHUNK_BYTES - 200) + BOM.repeat(200) + 'tail'
    const a = new TextDoc('alice', { clock })
    a.localInsert(0, big)
    const chunks = splitTextBatch(a.changesSince({}), TEXT_CHUNK_BYTES)
    expect(chunks.length).toBe(2)
    expect(firstInsertText(chunks[1]!).startsWith(BOM)).toBe(true)
    const b = new TextDoc('bob', { clock })
    for (const chunk of chunks) b.applyRemote(chunk)
    expect(b.toString() === big).toBe(true)
    expect(TextDoc.load(b.save(), 'carol').toString() === big).toBe(true)
  })

  it('keeps a replica ID that starts with U+FEFF (or is only that), distinct from the same ID without it', () => {
    for (const replica of [BOM, `${BOM}alice`, `${BOM}${BOM}x`]) {
      const a = new TextDoc(replica, { clock })
      const plain = new TextDoc(replica.replaceAll(BOM, '') || 'plain', { clock })
      const b = new TextDoc('bob', { clock })
      b.applyRemote(plain.localInsert(0, 'p'))
      b.applyRemote(a.localInsert(0, `${BOM}a`))
      expect(b.version(), visible(replica)).toEqual({ [plain.replica]: 1, [replica]: 2 })
      expect(b.history().map((h) => h.replica)).toEqual([plain.replica, replica])
      const c = TextDoc.load(b.save(), 'carol')
      expect(c.version(), visible(replica)).toEqual(b.version())
      expect(c.toString()).toBe(b.toString())
    }
  })

  it('refuses a lone surrogate at the API, leaving the document as it was', () => {
    const a = new TextDoc('alice', { clock })
    a.localInsert(0, `${BOM}\u{1F600}x`)
    const before = a.changesSince({})
    for (const bad of [
      '\uD800',
      'a\uDC00b',
      '\uDC00',
      'x\uD800',
      '\uDC00\uD800',
      `${BOM}\uD800`,
      '\uDBFF\uDBFF\uDFFF\uDFFF',
    ]) {
      for (const at of [0, 1, a.length]) {
        expect(() => a.localInsert(at, bad), `${visible(bad)} at ${at}`).toThrow(RangeError)
      }
    }
    // Positions inside the pair: neither an insert nor a delete boundary may split it.
    expect(() => a.localInsert(2, 'y')).toThrow(RangeError)
    expect(() => a.localDelete(1, 1)).toThrow(RangeError)
    expect(() => a.localDelete(2, 1)).toThrow(RangeError)
    expect(a.toString()).toBe(`${BOM}\u{1F600}x`)
    expect(a.changesSince({})).toEqual(before)
  })
})

// ---------------------------------------------------------------------------------------------
// LwwMap

/** A JSON value whose strings (and object keys) start with the drawn classes. */
function randomJson(p: Prng, depth = 0): Json {
  const roll = p.next()
  if (roll < 0.45 || depth > 1) return unicodeString(p, p.range(0, 10), firstClass(p))
  if (roll < 0.55) return p.int(1000) - 500
  if (roll < 0.6) return p.chance(0.5) ? null : true
  if (roll < 0.8) return Array.from({ length: p.range(0, 3) }, () => randomJson(p, depth + 1))
  const out: Record<string, Json> = {}
  for (let i = p.range(0, 3); i > 0; i--)
    out[unicodeString(p, p.range(1, 4), firstClass(p))] = randomJson(p, depth + 1)
  return out
}

describe('LwwMap: keys and values round-trip exactly', () => {
  it(`${MAP_CASES} seeded maps: set, delete, applyRemote, changesSince, save and load`, () => {
    let bomKeys = 0
    for (let i = 0; i < MAP_CASES; i++) {
      const seed = BASE_SEED + 10_000 + i
      const p = new Prng(seed)
      const a = new LwwMap<Json>('alice', { clock })
      const batches: Uint8Array[] = []
      const keys: string[] = []
      for (let n = p.range(3, 12); n > 0; n--) {
        const reuse = keys.length > 0 && p.chance(0.3)
        const key = reuse ? p.pick(keys) : unicodeString(p, p.range(1, 6), firstClass(p))
        if (!reuse) {
          keys.push(key)
          // The same key without its leading U+FEFF is another key: both must survive, apart.
          if (key.startsWith(BOM) && key.length > 1 && p.chance(0.5)) keys.push(key.slice(1))
        }
        batches.push(reuse && p.chance(0.3) ? a.delete(key) : a.set(key, randomJson(p)))
      }
      for (const key of keys.slice(-2)) if (!a.has(key)) batches.push(a.set(key, BOM))
      const expected = a.entries()
      bomKeys += expected.filter(([k]) => k.startsWith(BOM)).length

      const b = new LwwMap<Json>('bob', { clock })
      for (const batch of batches) b.applyRemote(batch)
      expect(b.entries(), says(seed, 'applyRemote of every batch')).toEqual(expected)
      expect({ ...b.version() }, says(seed, 'version')).toEqual({ ...a.version() })
      expect(LwwMap.load<Json>(a.save(), 'carol').entries(), says(seed, 'load(save())')).toEqual(expected)
      expect(LwwMap.load<Json>(b.save(), 'dave').entries(), says(seed, 'load(save()) of a receiver')).toEqual(
        expected,
      )
      const c = new LwwMap<Json>('erin', { clock })
      c.applyRemote(a.changesSince({}))
      expect(c.entries(), says(seed, 'changesSince({})')).toEqual(expected)
      for (const [key, value] of expected)
        expect(c.get(key), says(seed, `get(${visible(key)})`)).toEqual(value)
      // And as a sync-protocol update, framed.
      const [m] = throughStream(p, [
        { type: 'update', docId: DOC_ID, channel: Channel.Props, batch: a.changesSince({}), sentTo: [] },
      ])
      const d = new LwwMap<Json>('fred', { clock })
      if (m?.type === 'update') d.applyRemote(m.batch)
      expect(d.entries(), says(seed, 'update message')).toEqual(expected)
    }
    expect(bomKeys).toBeGreaterThan(MAP_CASES / 2)
  })

  it('keeps "\\uFEFF", "\\uFEFFtitle" and "title" as three keys, and values that start with U+FEFF', () => {
    const a = new LwwMap<Json>(`${BOM}alice`, { clock })
    const batches = [
      a.set(BOM, 'only a BOM'),
      a.set(`${BOM}title`, `${BOM}with`),
      a.set('title', 'without'),
      a.set('value', BOM),
      a.set('object', { [BOM]: [BOM, `${BOM}x`], [`${BOM}k`]: '\u0000' }),
    ]
    const expected: [string, Json][] = [
      ['object', { [BOM]: [BOM, `${BOM}x`], [`${BOM}k`]: '\u0000' }],
      ['title', 'without'],
      ['value', BOM],
      [BOM, 'only a BOM'],
      [`${BOM}title`, `${BOM}with`],
    ]
    expect(a.entries()).toEqual(expected)
    const b = new LwwMap<Json>('bob', { clock })
    for (const batch of batches) b.applyRemote(batch)
    expect(b.entries()).toEqual(expected)
    expect(b.version()).toEqual({ [`${BOM}alice`]: 5 })
    expect(LwwMap.load<Json>(a.save(), 'carol').entries()).toEqual(expected)
    expect(LwwMap.load<Json>(b.save(), 'carol').entries()).toEqual(expected)
  })

  it('round-trips values with lone surrogates exactly (JSON escapes them)', () => {
    const a = new LwwMap<Json>('alice', { clock })
    const values: Json[] = ['\uD800', 'a\uDC00b', { '\uDBFF': '\uDFFF' }, [`${BOM}\uD800`]]
    const b = new LwwMap<Json>('bob', { clock })
    values.forEach((v, i) => b.applyRemote(a.set(`k${i}`, v)))
    expect(b.entries()).toEqual(a.entries())
    expect(LwwMap.load<Json>(a.save(), 'carol').entries()).toEqual(a.entries())
    expect(b.get('k1')).toBe('a\uDC00b')
  })
})

// ---------------------------------------------------------------------------------------------
// Every string field of the sync protocol

/** A string of at most `max` UTF-16 units, starting with the drawn class. */
function field(p: Prng, max: number): string {
  let s = unicodeString(p, p.range(1, 12), firstClass(p))
  while (s.length > max) s = s.slice(0, -1)
  return s.length > 0 && /[\uD800-\uDBFF]$/.test(s) ? s.slice(0, -1) : s
}

describe('sync messages: every string field round-trips exactly', () => {
  it(`${MESSAGE_CASES} seeded sets of hello, doc-deny, awareness, join-request, shared-docs and sync-request`, () => {
    for (let i = 0; i < MESSAGE_CASES; i++) {
      const seed = BASE_SEED + 20_000 + i
      const p = new Prng(seed)
      const vector = (): VersionVector => {
        const v: VersionVector = {}
        for (let n = p.range(0, 3); n > 0; n--) v[field(p, 64) || BOM] = p.range(1, 1000)
        return v
      }
      const messages: Message[] = [
        { type: 'hello', protocol: 1, app: field(p, 256), name: field(p, 64), gotYours: p.chance(0.5) },
        { type: 'doc-deny', docId: DOC_ID, code: 'denied', reason: field(p, 256) },
        {
          type: 'awareness',
          docId: DOC_ID,
          origin: 'ab'.repeat(32),
          seq: p.int(100),
          hops: p.int(8),
          state: field(p, 4096),
          signature: new Uint8Array(64).fill(7),
          sentTo: [],
        },
        { type: 'join-request', docId: DOC_ID, name: field(p, 64) },
        {
          type: 'shared-docs',
          docs: [
            { docId: DOC_ID, title: field(p, 256), ownerName: field(p, 64), memberCount: p.range(1, 9) },
          ],
        },
        { type: 'sync-request', docId: DOC_ID, versions: [vector(), vector(), vector(), vector()] },
      ]
      for (const m of messages) {
        expect(decodeMessage(encodeMessage(m)), says(seed, `${m.type} message`)).toEqual(m)
      }
      expect(throughStream(p, messages), says(seed, 'messages through frames')).toEqual(messages)
    }
  })

  it('keeps a title, a name and a reason that start with U+FEFF', () => {
    const messages: Message[] = [
      { type: 'hello', protocol: 1, app: `${BOM}0.1.0`, name: `${BOM}Bob`, gotYours: true },
      { type: 'doc-deny', docId: DOC_ID, code: 'denied', reason: BOM },
      {
        type: 'shared-docs',
        docs: [{ docId: DOC_ID, title: `${BOM}Notes`, ownerName: BOM, memberCount: 2 }],
      },
      { type: 'sync-request', docId: DOC_ID, versions: [{ [`${BOM}r`]: 3, r: 4 }, {}, {}, {}] },
    ]
    for (const m of messages) expect(decodeMessage(encodeMessage(m))).toEqual(m)
  })
})

describe('browser-mode wire format: strings and blobs round-trip exactly', () => {
  it('strings starting with every class, as values and keys, next to Uint8Array blobs', () => {
    for (let i = 0; i < 100; i++) {
      const seed = BASE_SEED + 30_000 + i
      const p = new Prng(seed)
      const blob = p.bytes(p.range(0, 40))
      // A blob that is itself UTF-8 of a leading U+FEFF: the tail is bytes, never decoded as text.
      const bomBytes = new TextEncoder().encode(BOM + field(p, 20))
      const message = {
        kind: 'reply',
        id: i,
        result: {
          title: field(p, 100),
          [field(p, 10) || BOM]: [field(p, 10), blob, bomBytes],
          text: BOM + field(p, 50),
          state: bomBytes,
        },
      }
      expect(decodeWire(encodeWire(message)), says(seed, 'wire-json message')).toEqual(message)
    }
    expect(decodeWire(encodeWire(BOM))).toBe(BOM)
    expect(decodeWire(encodeWire({ [BOM]: BOM }))).toEqual({ [BOM]: BOM })
  })
})

// ---------------------------------------------------------------------------------------------
// Lone surrogates outside TextDoc's text: UTF-8 cannot carry one (TextEncoder writes U+FFFD), so the API
// refuses it, and strings cut to a protocol limit are never cut between the halves of a pair.

describe('lone surrogates are refused wherever a string is stored or sent', () => {
  /** `make` must throw a RangeError: nothing is made that would change in transit. */
  function refused(make: () => void): void {
    expect(make).toThrow(RangeError)
  }

  it('an LwwMap key with a lone surrogate is refused', () => {
    for (const key of ['\uD800', 'a\uDC00b', `${BOM}\uDBFF`]) {
      const a = new LwwMap<Json>('alice', { clock })
      refused(() => {
        const batch = a.set(key, 1)
        const b = new LwwMap<Json>('bob', { clock })
        b.applyRemote(batch)
        expect(b.entries(), visible(key)).toEqual(a.entries())
        expect(LwwMap.load<Json>(a.save(), 'carol').entries(), visible(key)).toEqual(a.entries())
      })
    }
  })

  it('a replica ID with a lone surrogate is refused', () => {
    for (const replica of ['\uD800', 'a\uDC00b']) {
      refused(() => {
        const a = new TextDoc(replica, { clock })
        const b = new TextDoc('bob', { clock })
        b.applyRemote(a.localInsert(0, 'x'))
        expect(b.version(), visible(replica)).toEqual(a.version())
      })
    }
  })

  it('a title, name or reason cut to its limit never splits a surrogate pair into U+FFFD', () => {
    const title = `${'a'.repeat(255)}\u{1F600}`
    const name = `${'b'.repeat(63)}\u{1F600}`
    const m = decodeMessage(
      encodeMessage({
        type: 'shared-docs',
        docs: [{ docId: DOC_ID, title, ownerName: name, memberCount: 1 }],
      }),
    )
    if (m.type !== 'shared-docs') throw new Error('not shared-docs')
    expect(m.docs[0]!.title).not.toContain('\uFFFD')
    expect(title.startsWith(m.docs[0]!.title)).toBe(true)
    expect(m.docs[0]!.ownerName).not.toContain('\uFFFD')
  })
})
