/**
 * DurableDoc's snapshots hold the text in the state form (`TextDoc.saveState()`, text kind 2): opening
 * costs in proportion to the document, and the history stays encoded until read. Snapshots of the two
 * earlier forms (`TextDoc.save()`, kind 0; every op as one batch, kind 1) still open, and the next
 * compaction rewrites them.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LwwMap, TextDoc } from '../../../src/shared/crdt'
import { decodeTextState } from '../../../src/shared/crdt/text-state'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { FileStore } from '../../../src/main/storage/file-store'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import { FaultyFs } from './faulty-fs'

const TEXT_SAVE = 0
const TEXT_OPS = 1
const TEXT_STATE = 2

/** A snapshot payload as DurableDoc lays it out (durable-doc.ts, encodeSnapshotPayload). */
function payload(textKind: number, text: Uint8Array, props: Uint8Array, members: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + text.length + props.length + members.length)
  const view = new DataView(out.buffer)
  out[0] = 1
  out[1] = textKind
  view.setUint32(2, text.length, true)
  view.setUint32(6, props.length, true)
  out.set(text, 10)
  out.set(props, 10 + text.length)
  out.set(members, 10 + text.length + props.length)
  return out
}

/** How many chunks the history of a state-form snapshot is kept in. */
function historyChunks(snapshot: Uint8Array): number {
  expect(snapshot[1]).toBe(TEXT_STATE)
  // The header: version, text form, and the lengths of the text, properties, legacy members, members
  // and (from version 4) seals, u32 each.
  const header = snapshot[0] === 4 ? 22 : 18
  const text = snapshot.subarray(
    header,
    header + new DataView(snapshot.buffer, snapshot.byteOffset).getUint32(2, true),
  )
  return decodeTextState(text, (names) => names.map((_, i) => i)).log.length
}

/** History entries without times (DurableDoc's TextDoc takes the wall clock). */
const ops = (doc: { history(): readonly { replica: string; counter: number; length: number }[] }): unknown =>
  doc.history().map((e) => [e.replica, e.counter, e.length])

describe('DurableDoc snapshots in the state form', () => {
  it('compacts into the state form and reopens from it with the same text, history and properties', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    await doc.insert(0, 'hello brave new world')
    await doc.delete(6, 6)
    await doc.insert(0, '😀\uFEFF')
    await doc.setProp('title', 'Greeting')
    const history = doc.text.history()
    await doc.compact()
    await doc.close()
    expect(backing.get('doc')!.snapshot![1]).toBe(TEXT_STATE)

    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(again.text.toString()).toBe('😀\uFEFFhello new world')
    expect(again.props.get('title')).toBe('Greeting')
    expect(again.text.history()).toEqual(history)
    const peer = new TextDoc('peer0001')
    peer.applyRemote(await again.textChangesSince({}))
    expect(peer.toString()).toBe(again.text.toString())
    await again.close()
  })

  it('opens snapshots of both earlier forms, keeps their parked ops, and rewrites them as state', async () => {
    const author = new TextDoc('author01')
    const first = author.localInsert(0, 'base ')
    const later = author.localInsert(5, 'text')
    const parked = author.localInsert(9, '!') // applied below before `later`: it waits for it
    const earlier = new TextDoc('earlier1')
    earlier.applyRemote(first)
    earlier.localInsert(0, '> ')
    const props = new LwwMap<string>('earlier1')
    props.set('title', 'Old')
    const members = new LwwMap<string>('earlier1').save()

    const withParked = TextDoc.load(earlier.save(), 'earlier1')
    withParked.applyRemote(parked)
    expect(withParked.pendingCount()).toBe(1)
    const forms = [
      { kind: TEXT_SAVE, text: withParked.save(), pending: 1 },
      { kind: TEXT_OPS, text: earlier.changesSince({}), pending: 0 },
    ]
    for (const form of forms) {
      const backing: MemoryBacking = new Map([
        ['doc', { snapshot: payload(form.kind, form.text, props.save(), members), history: [], records: [] }],
      ])
      const doc = await DurableDoc.open(new MemoryStore(backing), 'doc', { replica: 'opened01' })
      expect(doc.text.toString()).toBe('> base ')
      expect(doc.text.pendingCount()).toBe(form.pending)
      expect(doc.props.get('title')).toBe('Old')
      await doc.insert(doc.text.length, 'and more')
      const history = ops(doc.text)
      await doc.compact()
      await doc.close()
      expect(backing.get('doc')!.snapshot![1]).toBe(TEXT_STATE)

      const again = await DurableDoc.open(new MemoryStore(backing), 'doc', { replica: 'opened02' })
      expect(again.text.toString()).toBe('> base and more')
      expect(again.text.pendingCount()).toBe(form.pending)
      expect(ops(again.text)).toEqual(history)
      await again.applyText(later)
      // 'text' and 'and more' were typed concurrently after 'base ': author01 < opened01 puts 'text' first.
      expect(again.text.toString()).toBe(form.pending ? '> base text!and more' : '> base textand more')
      expect(again.text.pendingCount()).toBe(0)
      await again.close()
    }
  })

  it('compacts on close once the log holds 1,000 records, and not below', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    for (let i = 0; i < 999; i++) await doc.insert(doc.text.length, 'x')
    await doc.close()
    expect(backing.get('doc')!.snapshot).toBeNull()
    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    await again.insert(0, 'y')
    await again.close()
    expect(backing.get('doc')!.snapshot![1]).toBe(TEXT_STATE)
    expect(backing.get('doc')!.records).toEqual([])
    const third = await DurableDoc.open(new MemoryStore(backing), 'doc', { compactOnCloseAfterRecords: 2 })
    await third.insert(0, 'a')
    await third.insert(0, 'b')
    await third.close()
    expect(backing.get('doc')!.records).toEqual([])
    expect((await DurableDoc.open(new MemoryStore(backing), 'doc')).text.toString()).toBe(
      `bay${'x'.repeat(999)}`,
    )
  })

  it('carries a history never read across many sessions, and it is all there once read', async () => {
    const backing: MemoryBacking = new Map()
    const reference = new TextDoc('referenc')
    const chunks: number[] = []
    for (let session = 0; session < 45; session++) {
      const doc = await DurableDoc.open(new MemoryStore(backing), 'doc', { compactAfterRecords: 2 })
      // Each session types a little, deletes a little, hears from a peer; its compactions never read
      // the history, so they copy it as it was stored (bounded to 32 chunks, then joined).
      reference.applyRemote(await doc.insert(doc.text.length, `s${session} `))
      if (session % 4 === 3) reference.applyRemote(await doc.delete(0, 2))
      const peer = new TextDoc(`peer${String(session).padStart(4, '0')}`)
      peer.applyRemote(reference.changesSince({}))
      const batch = peer.localInsert(0, '·')
      reference.applyRemote(batch)
      await doc.applyText(batch)
      await doc.close()
      const snapshot = backing.get('doc')!.snapshot
      chunks.push(snapshot ? historyChunks(snapshot) : 0)
    }
    // The history was carried as stored (a chunk more per compaction), and chunks joined at the bound.
    expect(Math.max(...chunks)).toBe(32)
    expect(chunks.filter((n) => n === 32).length).toBeGreaterThan(5)
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(doc.text.toString()).toBe(reference.toString())
    expect(ops(doc.text)).toEqual(ops(reference))
    const fresh = new TextDoc('fresh001')
    fresh.applyRemote(await doc.textChangesSince({}))
    expect(fresh.toString()).toBe(reference.toString())
    await doc.close()
  })

  it('keeps the history in files written once: compactions, reads of the history and restarts add, never rewrite', async () => {
    const root = await mkdtemp(join(tmpdir(), 'meshpad-history-files-'))
    try {
      const dir = join(root, 'docs')
      const reference = new TextDoc('referenc')
      /** Each history file as first seen: its inode and modification time. */
      const seen = new Map<string, string>()
      let rewritten = 0
      /** Bytes of every history file ever made (a file made again counts again). */
      let made = 0
      for (let session = 0; session < 12; session++) {
        const store = new FileStore({ dir })
        const doc = await DurableDoc.open(store, 'doc', { compactAfterRecords: 40 })
        for (let i = 0; i < 60; i++)
          reference.applyRemote(await doc.insert(doc.text.length, `s${session}.${i} `))
        reference.applyRemote(await doc.delete(0, 3))
        // The History panel (or a peer far behind) reads it: its chunks stay as they were stored.
        if (session % 3 === 1) {
          const far = new TextDoc('farbehin')
          far.applyRemote(await doc.textChangesSince({}))
          expect(far.toString()).toBe(reference.toString())
        }
        await doc.compact()
        await doc.close()
        await store.close()
        for (const name of (await readdir(join(dir, 'doc'))).filter((n) => n.startsWith('hist-'))) {
          const s = await stat(join(dir, 'doc', name))
          const id = `${s.ino}:${s.mtimeMs}`
          if (seen.has(name) && seen.get(name) !== id) rewritten++
          if (seen.get(name) !== id) made += s.size
          seen.set(name, id)
        }
      }
      expect(rewritten).toBe(0)
      // Each op's history is written once: not again with each session's compactions (two here: one
      // after 40 records, one at the end) or reads. Every file ever made is still there.
      let kept = 0
      for (const name of (await readdir(join(dir, 'doc'))).filter((n) => n.startsWith('hist-')))
        kept += (await stat(join(dir, 'doc', name))).size
      expect(made).toBe(kept)
      const doc = await DurableDoc.open(new FileStore({ dir }), 'doc')
      expect(doc.text.toString()).toBe(reference.toString())
      const far = new TextDoc('farbehin')
      far.applyRemote(await doc.textChangesSince({}))
      expect(far.toString()).toBe(reference.toString())
      expect(far.version()).toEqual(reference.version())
      await doc.close()
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it('loses nothing when the disk is full as a history file is written, and compacts once it has room', async () => {
    const root = await mkdtemp(join(tmpdir(), 'meshpad-history-full-'))
    try {
      const dir = join(root, 'docs')
      const expected = new TextDoc('expected')
      const session = async (fs: FaultyFs | undefined, from: number): Promise<void> => {
        const store = new FileStore({ dir, fs })
        const doc = await DurableDoc.open(store, 'doc')
        for (let i = from; i < from + 50; i++)
          expected.applyRemote(await doc.insert(doc.text.length, `${i} `))
        // The compaction fails writing the history's chunk (ENOSPC): the snapshot is not written.
        const compacted = doc.compact().then(
          () => 'ok',
          (err: { code?: string }) => err.code,
        )
        expect(await compacted).toBe(fs ? 'DISK_FULL' : 'ok')
        await doc.close()
        await store.close()
      }
      await session(undefined, 0) // a snapshot with its history apart
      const full = new FaultyFs()
      // Every write of a history file fails (a write counts whatever its path: the log's come first).
      full.faults.push({
        op: 'write',
        nth: 1,
        times: 1e9,
        code: 'ENOSPC',
        partial: true,
        pathIncludes: 'hist-',
      })
      await session(full, 50)
      expect(full.fired.length).toBeGreaterThan(0)
      // Everything is there after a restart: the last good snapshot, its history, and the log since.
      let doc = await DurableDoc.open(new FileStore({ dir }), 'doc')
      expect(doc.text.toString()).toBe(expected.toString())
      await doc.close()
      await session(undefined, 100) // room again: the compaction goes through
      doc = await DurableDoc.open(new FileStore({ dir }), 'doc')
      expect(doc.text.toString()).toBe(expected.toString())
      const far = new TextDoc('farbehin')
      far.applyRemote(await doc.textChangesSince({}))
      expect(far.toString()).toBe(expected.toString())
      await doc.close()
      // No temp file left of the failed write.
      expect((await readdir(join(dir, 'doc'))).filter((n) => n.includes('meshpad-tmp'))).toEqual([])
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
