/**
 * Every string round-trips exactly through the op log and the snapshots on disk (issue 16).
 *
 * Before the fix, an op-log record whose batch text began with U+FEFF passed its checksum but no longer
 * decoded after a restart (the decoder dropped the character, so the text was one unit short): the record
 * was skipped with an `undecodable-record` warning, and every later edit that built on it stayed parked
 * for ever. Here seeded documents are edited through the real DurableDoc on a real FileStore in a temp
 * dir (local inserts and deletes, remote batches and the chunks of a split one, properties and members
 * whose keys and values start with U+FEFF, ops parked for a missing dependency), compacted at random
 * points into both snapshot forms, closed, reopened by a new store, compacted and reopened again: the
 * text, versions, parked ops, properties and members must be exactly as they were, with no warnings.
 * Each failure message starts with its seed; `UNICODE_SEED=<n>` reruns from n.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { splitTextBatch, TextDoc } from '../../../src/shared/crdt'
import { decodeTextOps } from '../../../src/shared/crdt/text-codec'
import { DurableDoc, type JsonValue } from '../../../src/main/storage/durable-doc'
import { FileStore } from '../../../src/main/storage/file-store'
import { decodeText, encodeText, type TextEncoding } from '../../../src/main/storage/text-format'
import { testDevice } from '../../support/devices'
import { Prng, randomDeleteRange, randomInsertIndex } from '../../shared/crdt/harness'
import { CLASS_NAMES, firstClass, piece, unicodeString, visible } from '../../shared/crdt/unicode-strings'

const BASE_SEED = Number(process.env['UNICODE_SEED'] ?? 16_000)
const CASES = 50
const BOM = '\uFEFF'
const NOW = 1_700_000_000_000
const clock = (): number => NOW

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-unicode-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Everything a reopen must give back, as plain data (strings compared exactly by toEqual). */
function stateOf(doc: DurableDoc): unknown {
  return {
    text: doc.text.toString(),
    version: { ...doc.text.version() },
    parked: doc.text.pendingCount(),
    props: doc.props.entries(),
    propsVersion: { ...doc.props.version() },
    members: doc.members.entries(),
  }
}

/**
 * Warnings of damage: anything but the notice that some ops wait for missing dependencies, which a
 * document with a deliberately parked op rightly gets.
 */
const damage = (doc: DurableDoc): unknown[] => doc.warnings.filter((w) => w.kind !== 'pending-ops')

/** The device that writes member changes (the root of every test document's member list). */
const owner = testDevice()

async function reopen(docId: string): Promise<{ doc: DurableDoc; store: FileStore }> {
  const store = new FileStore({ dir: root })
  // No automatic compaction: the test decides when snapshots are written.
  const doc = await DurableDoc.open(store, docId, {
    clock,
    compactAfterRecords: 1e9,
    legacyRoots: [owner.key],
  })
  return { doc, store }
}

/** How many of the document's op-log records (as the store gives them back) carry text that starts with U+FEFF. */
async function recordsStartingWithBom(docId: string): Promise<number> {
  const store = new FileStore({ dir: root })
  const loaded = await store.load(docId)
  await store.close()
  let n = 0
  for (const record of loaded?.records ?? []) {
    if (record[0] !== 1) continue // text records only
    const first = decodeTextOps(record.subarray(1)).ops.find((op) => op.kind === 0)
    if (first?.kind === 0 && first.text.startsWith(BOM)) n++
  }
  return n
}

/** A JSON value whose strings and keys start with the drawn classes. */
function randomJson(p: Prng): JsonValue {
  const roll = p.next()
  if (roll < 0.5) return unicodeString(p, p.range(0, 8), firstClass(p))
  if (roll < 0.7) return [unicodeString(p, p.range(1, 4), 'bom'), p.int(100)]
  return { [unicodeString(p, p.range(1, 4), firstClass(p))]: unicodeString(p, p.range(0, 4), firstClass(p)) }
}

/**
 * Seeded edits of every kind through `doc`, without awaiting each (group commit writes them together);
 * resolves once all are durable. `compact` is called at random points.
 */
async function edit(p: Prng, doc: DurableDoc, tag: string): Promise<void> {
  const pending: Promise<unknown>[] = []
  const steps = p.range(4, 12)
  const peer = new TextDoc(`peer-${tag}`, { clock })
  for (let step = 0; step < steps; step++) {
    const text = doc.text.toString()
    const roll = p.next()
    if (text.length > 0 && roll < 0.15) {
      const { index, length } = randomDeleteRange(p, text, 5)
      pending.push(doc.delete(index, length))
    } else if (roll < 0.3) {
      // Keystrokes: one record each, the first (often U+FEFF) at the start of its record.
      let at = p.chance(0.5) ? 0 : randomInsertIndex(p, text)
      for (let k = p.range(2, 6); k > 0; k--) {
        const s = p.chance(0.3) ? BOM : piece(p, p.pick(CLASS_NAMES))
        pending.push(doc.insert(at, s))
        at += s.length
      }
    } else if (roll < 0.55) {
      const where = p.next()
      const at = where < 0.4 ? 0 : where < 0.6 ? text.length : randomInsertIndex(p, text)
      pending.push(doc.insert(at, unicodeString(p, p.range(1, 10), firstClass(p))))
    } else if (roll < 0.7) {
      // A remote batch (a record from another replica), whole or split into chunks, one record each.
      peer.applyRemote(doc.allTextOps())
      const at = p.chance(0.5) ? 0 : randomInsertIndex(p, peer.toString())
      const batch = peer.localInsert(at, unicodeString(p, p.range(20, 80), 'bom'))
      const parts = p.chance(0.5) ? splitTextBatch(batch, p.range(160, 260)) : [batch]
      for (const part of parts) pending.push(doc.applyText(part))
    } else if (roll < 0.85) {
      pending.push(doc.setProp(unicodeString(p, p.range(1, 5), firstClass(p)), randomJson(p)))
    } else if (roll < 0.9) {
      // Member keys are device keys (hex); names are anyone's text.
      const target = doc.members.size === 0 ? owner.key : testDevice().key
      const role = target === owner.key ? 'owner' : 'editor'
      const name = BOM + unicodeString(p, p.range(0, 4))
      pending.push(doc.setMember(owner.key, owner.sign, { target, role, name, time: 1 }))
    } else {
      await Promise.all(pending)
      await doc.compact()
    }
  }
  await Promise.all(pending)
}

/**
 * Two ops of another replica, the second one alone: it waits (parked) for the first, so the next
 * snapshot takes the save() form, whose parked-ops batch then starts with U+FEFF. Returns the first.
 */
async function parkOne(p: Prng, doc: DurableDoc, seed: number): Promise<Uint8Array> {
  const other = new TextDoc(`late${seed}`, { clock })
  const first = other.localInsert(0, unicodeString(p, p.range(1, 6), 'bom'))
  const second = other.localInsert(other.length, unicodeString(p, p.range(1, 6), 'bom'))
  await doc.applyText(second)
  return first
}

describe('DurableDoc on a FileStore: every string round-trips through the op log and snapshots', () => {
  it(`${CASES} seeded documents: records, both snapshot forms, parked ops, properties, members`, async () => {
    let bomRecords = 0
    let parkedSnapshots = 0
    for (let i = 0; i < CASES; i++) {
      const seed = BASE_SEED + i
      const p = new Prng(seed)
      try {
        const docId = `doc${i}`
        const why = (what: string): string => `seed ${seed}: ${what}`

        let { doc, store } = await reopen(docId)
        await doc.insert(0, BOM + unicodeString(p, p.range(0, 6)))
        await edit(p, doc, `${seed}a`)
        const late = p.chance(0.5) ? await parkOne(p, doc, seed) : null
        if (p.chance(0.3)) await doc.compact()
        await edit(p, doc, `${seed}b`)
        const expected = stateOf(doc)
        const text = doc.text.toString()
        await doc.close()
        await store.close()
        bomRecords += await recordsStartingWithBom(docId)

        // Reopened from the log (and whatever snapshot was written), by a new store.
        ;({ doc, store } = await reopen(docId))
        expect(damage(doc), why('warnings on reopen')).toEqual([])
        expect(doc.text.toString(), why(`text after reopen, expected ${visible(text)}`)).toBe(text)
        expect(stateOf(doc), why('state after reopen')).toEqual(expected)
        // Compacted now (save() form if anything is parked, else all ops as one batch), and reopened.
        await doc.compact()
        await doc.close()
        await store.close()
        ;({ doc, store } = await reopen(docId))
        expect(damage(doc), why('warnings after a compaction')).toEqual([])
        expect(stateOf(doc), why('state after a compaction and reopen')).toEqual(expected)
        // The parked op still resolves once its dependency arrives, and that too survives a restart.
        if (late) {
          parkedSnapshots++
          expect(doc.text.pendingCount(), why('parked')).toBe(1)
          await doc.applyText(late)
          expect(doc.text.pendingCount(), why('parked after its dependency')).toBe(0)
          const resolved = stateOf(doc)
          await doc.close()
          await store.close()
          ;({ doc, store } = await reopen(docId))
          expect(stateOf(doc), why('state after the parked op resolved and a reopen')).toEqual(resolved)
        }
        await doc.close()
        await store.close()
      } catch (err) {
        if (err instanceof Error && !err.message.includes(`seed ${seed}`))
          err.message = `seed ${seed}: ${err.message}`
        throw err
      }
    }
    // The boundaries were really exercised: op-log records whose text starts with U+FEFF, and snapshots
    // in the save() form (with parked ops), not only the all-ops form.
    expect(bomRecords).toBeGreaterThan(CASES)
    expect(parkedSnapshots).toBeGreaterThan(CASES / 4)
  })

  it('reproduces issue 16: "\\uFEFFX" then "Y" before "abc\\n" survive a restart, then a compaction', async () => {
    let { doc, store } = await reopen('issue16')
    await doc.insert(0, 'abc\n')
    await doc.insert(0, `${BOM}X`)
    await doc.insert(0, 'Y')
    const version = doc.text.version()
    await doc.close()
    await store.close()
    ;({ doc, store } = await reopen('issue16'))
    // Before the fix: "abc\n", an undecodable-record warning, and "Y" parked for ever.
    expect(doc.text.toString()).toBe(`Y${BOM}Xabc\n`)
    expect(doc.text.version()).toEqual(version)
    expect(doc.text.pendingCount()).toBe(0)
    expect(doc.warnings).toEqual([])
    await doc.insert(doc.text.length, BOM)
    await doc.compact()
    await doc.close()
    await store.close()
    ;({ doc, store } = await reopen('issue16'))
    expect(doc.warnings).toEqual([])
    expect(doc.text.toString()).toBe(`Y${BOM}Xabc\n${BOM}`)
    await doc.close()
    await store.close()
  })

  it('keeps properties and members whose keys or values are, or start with, U+FEFF', async () => {
    let { doc, store } = await reopen('props')
    await doc.setProp(BOM, BOM)
    await doc.setProp(`${BOM}title`, `${BOM}Notes`)
    await doc.setProp('title', 'Notes')
    await doc.setMember(owner.key, owner.sign, { target: owner.key, role: 'owner', name: BOM, time: 1 })
    const expected = stateOf(doc)
    for (const compact of [false, true]) {
      if (compact) await doc.compact()
      await doc.close()
      await store.close()
      ;({ doc, store } = await reopen('props'))
      expect(doc.warnings).toEqual([])
      expect(stateOf(doc), compact ? 'from a snapshot' : 'from the log').toEqual(expected)
    }
    expect(doc.props.get(BOM)).toBe(BOM)
    expect(doc.props.get(`${BOM}title`)).toBe(`${BOM}Notes`)
    expect(doc.props.get('title')).toBe('Notes')
    await doc.close()
    await store.close()
  })
})

describe('text files: a document that starts with U+FEFF', () => {
  it('keeps it in the encodings that mark themselves with a BOM (the file’s mark is separate)', () => {
    for (const encoding of ['utf8-bom', 'utf16le', 'utf16be'] as TextEncoding[]) {
      for (const text of [BOM, `${BOM}X\n`, `${BOM}${BOM}\u{1F600}\n`]) {
        const bytes = encodeText(text, { encoding, eol: 'lf' })
        const back = decodeText(bytes, 'test.txt')
        expect(back.text, `${encoding}: ${visible(text)}`).toBe(text)
        expect(back.format.encoding).toBe(encoding)
      }
    }
  })
})
