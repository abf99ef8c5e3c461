import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CrdtDecodeError, TextDoc } from '../../../src/shared/crdt'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { StorageError } from '../../../src/main/storage/errors'
import { FileStore } from '../../../src/main/storage/file-store'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import { FaultyFs } from './faulty-fs'
import { testDevice } from '../../support/devices'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-durable-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('DurableDoc', () => {
  it('reopens with its text, properties and members (across a compaction), under a fresh replica ID each time', async () => {
    const backing: MemoryBacking = new Map()
    const [a, b] = [testDevice(), testDevice()]
    // 'doc' derives from no key: the member list's root is a device pinned as a (legacy) root.
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc', { legacyRoots: [a.key] })
    await doc.insert(0, 'hello world')
    await doc.delete(5, 6)
    await doc.setProp('title', 'Greeting')
    await doc.setProp('tags', ['a', 'b'])
    await doc.deleteProp('tags')
    await doc.setMember(a.key, a.sign, { target: a.key, role: 'owner', name: 'Ada', time: 1 })
    await doc.compact()
    await doc.setMember(a.key, a.sign, { target: b.key, role: 'editor', name: 'Bo', time: 2 })
    await doc.close()

    const again = await DurableDoc.open(new MemoryStore(backing), 'doc', { legacyRoots: [a.key] })
    expect(again.text.toString()).toBe('hello')
    expect(again.props.entries()).toEqual([['title', 'Greeting']])
    expect(again.members.get(a.key)).toEqual({ role: 'owner', name: 'Ada' })
    expect(again.members.get(b.key)).toEqual({ role: 'editor', name: 'Bo' })
    // A peer that never pinned `a` as the root of this (underived) document ID takes none of it.
    const stranger = await DurableDoc.open(new MemoryStore(), 'doc')
    await stranger.applyMembers(await again.memberChangesSince({}))
    expect(stranger.members.entries()).toEqual([])
    const peer = await DurableDoc.open(new MemoryStore(), 'doc', { legacyRoots: [a.key] })
    await peer.applyMembers(await again.memberChangesSince({}))
    expect(peer.members.entries()).toHaveLength(2)
    expect(again.replica).not.toBe(doc.replica)
    expect(again.replica).toMatch(/^[A-Za-z0-9_-]{8}$/)
    await again.insert(5, '!')
    expect(Object.keys(again.text.version())).toEqual(expect.arrayContaining([doc.replica, again.replica]))
  })

  it('tells onChange of each op written, not of a duplicate or a seal, until stopped', async () => {
    const doc = await DurableDoc.open(new MemoryStore(), 'doc')
    let calls = 0
    const stop = doc.onChange(() => calls++)
    await doc.insert(0, 'mine')
    await doc.setProp('title', 'T')
    const peer = new TextDoc('peer0001')
    await doc.applyText(peer.localInsert(0, 'theirs '))
    expect(calls).toBe(3)
    expect(doc.changeCount).toBe(3)
    await doc.applyText(peer.changesSince({})) // a duplicate: nothing new held
    await doc.storeSeal('peer0001', new Uint8Array([1, 2, 3])) // what the document holds is the same
    await doc.flush()
    expect(calls).toBe(3)
    expect(doc.changeCount).toBe(3)
    stop()
    await doc.insert(0, 'more ')
    expect(calls).toBe(3)
    await doc.close()
  })

  it('stores remote batches, and refuses undecodable ones without storing them', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    const peer = new TextDoc('peer0001')
    await doc.applyText(peer.localInsert(0, 'from a peer'))
    const before = backing.get('doc')!.records.length
    await expect(doc.applyText(new Uint8Array([0xff, 0xff, 0xff]))).rejects.toBeInstanceOf(CrdtDecodeError)
    await doc.flush()
    expect(backing.get('doc')!.records.length).toBe(before)
    // A duplicate is applied (idempotently) but not stored twice.
    await doc.applyText(peer.changesSince({}))
    expect(backing.get('doc')!.records.length).toBe(before)
    await doc.close()
    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(again.text.toString()).toBe('from a peer')
  })

  it('resolves an accepted op, and serves it to peers, only after its fsync', async () => {
    const fs = new FaultyFs()
    let openGate = (): void => undefined
    const store = new FileStore({ dir: root, fs })
    const doc = await DurableDoc.open(store, 'doc')
    await doc.insert(0, 'durable ')
    fs.syncGate = { pathIncludes: 'log-', open: new Promise<void>((r) => (openGate = r)) }
    const settled: string[] = []
    const insert = doc.insert(8, 'op').then(() => settled.push('insert'))
    const remote = doc
      .applyText(new TextDoc('peer0001').localInsert(0, 'x'))
      .then(() => settled.push('remote'))
    const served = doc.textChangesSince({}).then(() => settled.push('served'))
    await new Promise((r) => setTimeout(r, 50))
    expect(settled).toEqual([])
    expect(doc.text.toString()).toContain('durable op')
    openGate()
    await Promise.all([insert, remote, served])
    expect(settled.sort()).toEqual(['insert', 'remote', 'served'])
    await doc.close()
    await store.close()
  })

  it("stores a peer's seals and property writes with the next write and fsync, as a peer's ops; its own at once", async () => {
    const fs = new FaultyFs()
    const store = new FileStore({ dir: root, fs })
    const doc = await DurableDoc.open(store, 'doc')
    await doc.insert(0, 'warm-up')
    const peerWrite = await (await DurableDoc.open(new MemoryStore(), 'doc')).setProp('title', 'Notes')
    const [writes, syncs] = [fs.count('write'), fs.count('sync')]
    // A peer's seal and property write, then (as a sync reply brings them, later) the ops: one write, one fsync.
    let sealDurable = false
    const seal = doc.storeSeal('peer0001', new Uint8Array([1, 2, 3]), true).then(() => (sealDurable = true))
    const props = doc.applyProps(peerWrite)
    expect(doc.props.get('title')).toBe('Notes') // applied at once
    await new Promise((r) => setImmediate(r))
    expect(fs.count('write')).toBe(writes) // waiting for the next write
    const ops = doc.applyText(new TextDoc('peer0001').localInsert(0, 'x'))
    await Promise.all([seal, props, ops])
    expect(fs.count('write') - writes).toBe(1)
    expect(fs.count('sync') - syncs).toBe(1)
    // This device's own seal is written and fsynced at once.
    const before = fs.count('sync')
    await doc.storeSeal('mine0001', new Uint8Array([4, 5, 6]))
    expect(fs.count('sync') - before).toBe(1)
    expect(sealDurable).toBe(true)
    await doc.close()
    const again = await DurableDoc.open(store, 'doc')
    expect(again.seals()).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])])
    expect(again.props.get('title')).toBe('Notes')
    await again.close()
    await store.close()
  })

  it('compacts into a snapshot once the log passes its threshold', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc', { compactAfterRecords: 10 })
    for (let i = 0; i < 25; i++) await doc.insert(doc.text.length, `${i},`)
    await doc.close()
    const stored = backing.get('doc')!
    expect(stored.snapshot).not.toBeNull()
    expect(stored.records.length).toBeLessThan(10)
    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(again.text.toString()).toBe(Array.from({ length: 25 }, (_, i) => `${i},`).join(''))
  })

  it('keeps edits made while the disk is full, and writes them once it is not', async () => {
    const fs = new FaultyFs()
    const store = new FileStore({ dir: root, fs })
    const doc = await DurableDoc.open(store, 'doc')
    await doc.insert(0, 'a')
    fs.inject({ op: 'write', nth: 1, times: 3, code: 'ENOSPC', partial: true })
    const failures: unknown[] = []
    for (const ch of 'bcd') await doc.insert(doc.text.length, ch).catch((e: unknown) => failures.push(e))
    expect(failures).toHaveLength(3)
    for (const f of failures) expect(f).toMatchObject({ code: 'DISK_FULL', name: 'StorageError' })
    expect(doc.text.toString()).toBe('abcd')
    await doc.insert(4, 'e')
    await doc.close()
    await store.close()

    const again = await DurableDoc.open(new FileStore({ dir: root }), 'doc')
    expect(again.text.toString()).toBe('abcde')
    expect(again.warnings).toEqual([])
  })

  it('stays open when closing cannot flush, and closes idempotently once it can', async () => {
    const fs = new FaultyFs()
    const store = new FileStore({ dir: root, fs })
    const doc = await DurableDoc.open(store, 'doc')
    fs.inject({ op: 'sync', nth: 1, times: 2, code: 'EIO' })
    await expect(doc.insert(0, 'x')).rejects.toMatchObject({ code: 'IO' })
    await expect(doc.close()).rejects.toBeInstanceOf(StorageError)
    await doc.insert(1, 'y')
    await Promise.all([doc.close(), doc.close()])
    await doc.close()
    expect(() => doc.insert(0, 'z')).toThrow(expect.objectContaining({ code: 'CLOSED' }))
    await store.close()
    expect((await DurableDoc.open(new FileStore({ dir: root }), 'doc')).text.toString()).toBe('xy')
  })

  it('opens past a record it cannot apply, keeps that record and holds compaction, and says so', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc', { compactAfterRecords: 2 })
    await doc.insert(0, 'kept')
    await doc.close()
    const unreadable = [new Uint8Array([1, 0xff, 0xff]), new Uint8Array([9])]
    backing.get('doc')!.records.push(...unreadable)

    const again = await DurableDoc.open(new MemoryStore(backing), 'doc', { compactAfterRecords: 2 })
    expect(again.text.toString()).toBe('kept')
    expect(again.warnings.map((w) => w.kind)).toEqual(['undecodable-record', 'undecodable-record'])
    expect(again.problems()).toEqual([expect.stringMatching(/^2 saved changes .* kept on disk untouched/)])
    // New edits are still accepted and stored; no compaction, explicit or due, drops the old records.
    for (const ch of 'abc') await again.insert(again.text.length, ch)
    await again.compact()
    await again.close()
    const stored = backing.get('doc')!
    expect(stored.snapshot).toBeNull()
    expect(stored.records).toEqual(expect.arrayContaining(unreadable))
    const third = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(third.text.toString()).toBe('keptabc')
    expect(third.unreadableRecords).toBe(2)
  })

  it('reports ops that wait for a missing dependency at open, and keeps them through a compaction', async () => {
    const backing: MemoryBacking = new Map()
    const author = new TextDoc('author01')
    const first = author.localInsert(0, 'base ')
    const second = author.localInsert(5, 'waits')
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    await doc.applyText(second) // its dependency, `first`, has not arrived
    await doc.close()

    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(again.warnings).toEqual([{ kind: 'pending-ops', count: 1 }])
    expect(again.problems()).toEqual([expect.stringMatching(/^1 change .* wait for earlier changes/)])
    await again.compact()
    await again.close()
    expect(backing.get('doc')!.snapshot).not.toBeNull()

    const compacted = await DurableDoc.open(new MemoryStore(backing), 'doc')
    await compacted.applyText(first)
    expect(compacted.text.toString()).toBe('base waits')
    await compacted.close()
  })
})

describe('DurableDoc.replaceVersion', () => {
  it('rebuilds on another version of a replica, writes it, and reopens with it', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    const start = await doc.insert(0, 'one two')
    const a = new TextDoc('mallory')
    a.applyRemote(start)
    const b = new TextDoc('mallory')
    b.applyRemote(start)
    await doc.applyText(a.localInsert(3, ' AAA'))
    await doc.insert(doc.text.toString().indexOf('AAA') + 3, '!') // typed against her characters
    const mine = (r: string): boolean => r === doc.replica
    // Without her characters, this device's '!' would wait for them, its counter set back: refused.
    expect(await doc.replaceVersion('mallory', new TextDoc('x').changesSince({}), mine)).toBeNull()
    expect(doc.text.toString()).toBe('one AAA! two')
    const { before, after } = (await doc.replaceVersion('mallory', b.localInsert(3, ' BBB'), mine))!
    expect(before).toBe('one AAA! two')
    expect(after).toBe('one BBB! two')
    expect(doc.text.toString()).toBe(after)
    // Its own next edit continues its counters.
    await doc.insert(0, '>')
    await doc.close()
    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(again.text.toString()).toBe('>one BBB! two')
    expect(again.text.version()).toEqual(doc.text.version())
    await again.close()
  })
})

describe('DurableDoc stream checkpoints', () => {
  it('keeps what its source gives with each snapshot, apart from the seals, and none once the text is replaced', async () => {
    const open = (): Promise<DurableDoc> => DurableDoc.open(new FileStore({ dir: root }), 'doc')
    const doc = await open()
    await doc.insert(0, 'one two')
    await doc.storeSeal('ana00001', new Uint8Array([1, 2, 3]))
    let given: [string, Uint8Array][] = [['ana00001', new Uint8Array([7, 7])]]
    doc.keepCheckpointsWith(() => given)
    await doc.compact()
    given = [['ben00001', new Uint8Array([8])]]
    await doc.insert(7, '!')
    await doc.compact()
    await doc.close()
    const again = await open()
    // Each compaction adds what it is given; one kept before stays (its loader checks it).
    expect(again.checkpointRecords()).toEqual([new Uint8Array([7, 7]), new Uint8Array([8])])
    expect(again.seals()).toEqual([new Uint8Array([1, 2, 3])])
    // A replaced text (a replica's other version, or the canonical order) may hold other streams than
    // those hashed: its snapshot and the later ones keep none, until the next open.
    again.keepCheckpointsWith(() => given)
    expect(await again.rebuildCanonical(() => false)).not.toBeNull()
    expect(again.checkpointRecords()).toEqual([])
    await again.insert(0, '>')
    await again.compact()
    await again.close()
    const third = await open()
    expect(third.checkpointRecords()).toEqual([])
    expect(third.text.toString()).toBe('>one two!')
    await third.close()
  })
})

describe('DurableDoc.allTextOps', () => {
  // It is kept between calls (a file's first open asks twice): it must still follow every change.
  const textOf = (batch: Uint8Array): string => {
    const doc = new TextDoc('reader')
    doc.applyRemote(batch)
    return doc.toString()
  }

  it('follows local edits, remote ones, and ops that waited for a missing one', async () => {
    const doc = await DurableDoc.open(new MemoryStore(), 'doc')
    await doc.insert(0, 'ab')
    expect(textOf(doc.allTextOps())).toBe('ab')
    await doc.delete(0, 1)
    expect(textOf(doc.allTextOps())).toBe('b')

    const peer = new TextDoc('peer')
    const first = peer.localInsert(0, 'x')
    const second = peer.localInsert(1, 'y') // depends on `first`
    await doc.applyText(second) // parked: `first` is missing
    expect(textOf(doc.allTextOps())).toBe('b')
    await doc.applyText(first)
    const now = doc.text.toString() // 'xyb' or 'bxy', as the replica IDs order the two inserts at 0
    expect([...now].sort().join('')).toBe('bxy')
    expect(textOf(doc.allTextOps())).toBe(now)
    await doc.applyText(first) // a duplicate changes nothing
    expect(textOf(doc.allTextOps())).toBe(now)
    await doc.close()
  })

  it("serves a long first insert (a file's import) from its own batch: the same bytes as the ops encoded anew", async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), 'doc')
    const text = 'a line of an imported file, long enough to be written whole\n'.repeat(2_000)
    const changes = doc.changeCount
    const staged = doc.stageInsert(0, text)
    expect(doc.changeCount).toBe(changes + 1) // told, as for any op (a project's files rely on it)
    expect(doc.allTextOps()).toBe(staged.value) // one buffer for the record, the batch and the window
    const reader = new TextDoc('reader')
    reader.applyRemote(staged.value)
    expect(reader.toString()).toBe(text)
    // It carries the op's time, as a batch of every op does (the History panel dates the import).
    expect(reader.history().map((h) => h.time)).toEqual(doc.text.history().map((h) => h.time))
    await staged.durable
    await doc.close()

    // The store holds the op as it was made: the same bytes as a fresh encoding of every op.
    const again = await DurableDoc.open(new MemoryStore(backing), 'doc')
    expect(again.text.toString()).toBe(text)
    expect(Buffer.from(again.allTextOps()).equals(staged.value)).toBe(true)
    await again.insert(0, '> ')
    expect(textOf(again.allTextOps())).toBe(`> ${text}`)
    await again.close()
  })

  it('writes a long insert into a document that has text as any other edit', async () => {
    const doc = await DurableDoc.open(new MemoryStore(), 'doc')
    await doc.insert(0, 'head\n')
    const text = 'x'.repeat(100_000)
    const staged = doc.stageInsert(5, text)
    expect(doc.allTextOps()).not.toBe(staged.value)
    expect(textOf(doc.allTextOps())).toBe(`head\n${text}`)
    await staged.durable
    await doc.close()
  })
})
