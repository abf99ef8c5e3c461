import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { crc32 } from '../../../src/main/storage/crc32'
import { CorruptStoreError } from '../../../src/main/storage/errors'
import { FileStore } from '../../../src/main/storage/file-store'
import { nodeFs, type StorageFs } from '../../../src/main/storage/fs-layer'
import { DEFER_MS, SYNC_DEFER_MS } from '../../../src/main/storage/op-log'
import { FaultyFs } from './faulty-fs'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array | null | undefined): string | null => (b ? new TextDecoder().decode(b) : null)

let root: string
let stores: FileStore[]
const docsDir = (): string => join(root, 'docs')
const docDir = (id = 'd'): string => join(docsDir(), id)
const open = (fs?: FaultyFs): FileStore => {
  const store = new FileStore({ dir: docsDir(), fs })
  stores.push(store)
  return store
}
async function loadText(store: FileStore, id = 'd') {
  const doc = await store.load(id)
  return doc && { snapshot: text(doc.snapshot), records: doc.records.map(text), warnings: doc.warnings }
}
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await readdir(dir)).sort()) {
    out[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex')
  }
  return out
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-filestore-'))
  stores = []
})
afterEach(async () => {
  for (const s of stores) await s.close()
  await rm(root, { recursive: true, force: true })
})

describe('FileStore log repair', () => {
  it('drops a torn tail, reports it, truncates the file and appends cleanly after it', async () => {
    const store = open()
    await store.append('d', [bytes('alpha'), bytes('beta'), bytes('gamma')])
    await store.close()
    const log = join(docDir(), 'log-0.bin')
    const full = (await stat(log)).size
    await truncate(log, full - 3)

    const reopened = open()
    const loaded = await loadText(reopened)
    expect(loaded?.records).toEqual(['alpha', 'beta'])
    expect(loaded?.warnings).toEqual([
      expect.objectContaining({ kind: 'log-truncated', file: log, droppedBytes: 8 + 5 - 3 }),
    ])
    expect((await stat(log)).size).toBe(full - 13)
    await reopened.append('d', [bytes('delta')])
    await reopened.close()
    const again = await loadText(open())
    expect(again).toEqual({ snapshot: null, records: ['alpha', 'beta', 'delta'], warnings: [] })
  })

  it('stops at a bit-flipped record and keeps the intact prefix', async () => {
    const store = open()
    await store.append('d', [bytes('one'), bytes('two'), bytes('three')])
    await store.close()
    const log = join(docDir(), 'log-0.bin')
    const raw = await readFile(log)
    const at = 4 + (8 + 3) + 8 + 1 // magic, record "one", header of "two", then its second byte
    raw[at] = raw[at]! ^ 0x20
    await writeFile(log, raw)
    const loaded = await loadText(open())
    expect(loaded?.records).toEqual(['one'])
    expect(loaded?.warnings[0]).toMatchObject({
      kind: 'log-truncated',
      detail: expect.stringMatching(/checksum/),
    })
  })

  it('treats a segment torn inside its header as empty', async () => {
    await open().append('d', [bytes('x')])
    await truncate(join(docDir(), 'log-0.bin'), 2)
    const store = open()
    expect((await loadText(store))?.records).toEqual([])
    await store.append('d', [bytes('y')])
    expect((await loadText(open()))?.records).toEqual(['y'])
  })
})

describe('FileStore release', () => {
  it('closes a released document’s files: a node may close thousands of documents', async () => {
    const store = open()
    const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length
    const ids = Array.from({ length: 40 }, (_, i) => `doc${i}`)
    for (const id of ids) await store.append(id, [bytes(id)])
    const held = await fds()
    for (const id of ids) await store.release(id)
    expect(held - (await fds())).toBeGreaterThanOrEqual(ids.length)
    expect((await store.load('doc7'))?.records.map(text)).toEqual(['doc7'])
  })
})

describe('FileStore new documents', () => {
  /** nodeFs, noting every folder listed and every file measured. */
  const watched = (): { fs: StorageFs; listed: string[]; measured: string[] } => {
    const listed: string[] = []
    const measured: string[] = []
    const fs: StorageFs = {
      ...nodeFs,
      readdir: (path) => (listed.push(path), nodeFs.readdir(path)),
      stat: (path) => (measured.push(path), nodeFs.stat(path)),
    }
    return { fs, listed, measured }
  }

  it('makes a new document’s folder and log without listing or measuring them (2,000 of each in a join)', async () => {
    const { fs, listed, measured } = watched()
    const store = new FileStore({ dir: docsDir(), fs })
    stores.push(store)
    await store.append('fresh', [bytes('one')])
    await store.append('fresh', [bytes('two')])
    expect(listed.filter((p) => p.startsWith(docDir('fresh')))).toEqual([])
    expect(measured.filter((p) => p.startsWith(docDir('fresh')))).toEqual([])
    await store.close()
    expect((await loadText(open(), 'fresh'))?.records).toEqual(['one', 'two'])
  })

  it('reads a folder that another run made after the listing, and appends after what it holds', async () => {
    const first = open()
    await first.append('seen', [bytes('listed the folders')]) // the listing is taken now
    const other = open()
    await other.append('shared', [bytes('from the other run')])
    await other.close()
    await first.append('shared', [bytes('from the first')])
    await first.close()
    expect((await loadText(open(), 'shared'))?.records).toEqual(['from the other run', 'from the first'])
  })
})

describe('FileStore snapshots', () => {
  async function history(store: FileStore, rounds: number): Promise<void> {
    for (let i = 1; i <= rounds; i++) {
      await store.append('d', [bytes(`r${i}`)])
      await store.writeSnapshot('d', bytes(`S${i}`))
    }
    await store.append('d', [bytes('tail')])
  }

  it('falls back to the previous snapshot when the newest is corrupt, and the log covers the gap', async () => {
    const store = open()
    await history(store, 4)
    await store.close()
    const newest = join(docDir(), 'snap-4.bin')
    const raw = await readFile(newest)
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1
    await writeFile(newest, raw)
    const loaded = await loadText(open())
    expect(loaded?.snapshot).toBe('S3')
    expect(loaded?.records).toEqual(['r4', 'tail'])
    expect(loaded?.warnings).toEqual([expect.objectContaining({ kind: 'corrupt-snapshot', file: newest })])
  })

  it('rebuilds from the log alone when the only snapshot is corrupt and the log reaches back to empty', async () => {
    const store = open()
    await history(store, 1)
    await store.close()
    await writeFile(join(docDir(), 'snap-1.bin'), 'garbage')
    const loaded = await loadText(open())
    expect(loaded).toMatchObject({ snapshot: null, records: ['r1', 'tail'] })
  })

  it('throws a typed error naming the files, and writes nothing, when no valid snapshot remains', async () => {
    const store = open()
    await history(store, 3)
    await store.close()
    for (const name of ['snap-2.bin', 'snap-3.bin']) await writeFile(join(docDir(), name), 'garbage')
    await truncate(join(docDir(), 'log-3.bin'), (await stat(join(docDir(), 'log-3.bin'))).size - 2)
    const before = await fingerprint(docDir())

    const broken = open()
    const error = await broken.load('d').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptStoreError)
    const corrupt = error as CorruptStoreError
    expect(corrupt.code).toBe('CORRUPT')
    expect(corrupt.files).toEqual([join(docDir(), 'snap-2.bin'), join(docDir(), 'snap-3.bin')])
    expect(corrupt.message).toContain(join(docDir(), 'snap-3.bin'))
    await expect(broken.append('d', [bytes('more')])).rejects.toBeInstanceOf(CorruptStoreError)
    await expect(broken.writeSnapshot('d', bytes('S'))).rejects.toBeInstanceOf(CorruptStoreError)
    expect(await fingerprint(docDir())).toEqual(before)
  })

  it('keeps only the newest snapshot, one fallback and the segments since the fallback', async () => {
    const store = open()
    await history(store, 10)
    const names = (await readdir(docDir())).sort()
    expect(names).toEqual(['log-10.bin', 'log-9.bin', 'snap-10.bin', 'snap-9.bin'])
  })

  it('writes each history chunk once, shares it between snapshots, and drops it once none kept names it', async () => {
    const store = open()
    const h = (n: number): Uint8Array => bytes(`history chunk ${n}`)
    const hist = (n: number): string => `hist-${createHash('sha256').update(h(n)).digest('hex')}.bin`
    await store.append('d', [bytes('r1')])
    await store.writeSnapshot('d', bytes('S1'), [h(1)])
    const first = await stat(join(docDir(), hist(1)))
    await store.append('d', [bytes('r2')])
    await store.writeSnapshot('d', bytes('S2'), [h(1), h(2)])
    // Chunk 1 was not written again: the same file (inode and time), held once for both snapshots.
    const again = await stat(join(docDir(), hist(1)))
    expect([again.ino, again.mtimeMs]).toEqual([first.ino, first.mtimeMs])
    const names = async (): Promise<string[]> =>
      (await readdir(docDir())).filter((n) => n.startsWith('hist-'))
    expect((await names()).sort()).toEqual([hist(1), hist(2)].sort())
    // Chunks 1 and 2 joined into 3: 1 and 2 stay while the fallback (S2) names them, then go.
    await store.writeSnapshot('d', bytes('S3'), [h(3)])
    expect((await names()).sort()).toEqual([hist(1), hist(2), hist(3)].sort())
    await store.writeSnapshot('d', bytes('S4'), [h(3), h(4)])
    expect((await names()).sort()).toEqual([hist(3), hist(4)].sort())
    const loaded = await open().load('d')
    expect(loaded?.history.map(text)).toEqual(['history chunk 3', 'history chunk 4'])
  })

  it('falls back to the previous snapshot when a history file it names is missing or damaged', async () => {
    const store = open()
    const h = (n: number): Uint8Array => bytes(`chunk ${n}`)
    const hist = (n: number): string =>
      join(docDir(), `hist-${createHash('sha256').update(h(n)).digest('hex')}.bin`)
    await store.append('d', [bytes('r1')])
    await store.writeSnapshot('d', bytes('S1'), [h(1)])
    await store.append('d', [bytes('r2')])
    await store.writeSnapshot('d', bytes('S2'), [h(1), h(2)])
    await store.append('d', [bytes('tail')])
    await store.close()
    await writeFile(hist(2), 'chunk 2 changed')
    let loaded = await open().load('d')
    expect(text(loaded?.snapshot)).toBe('S1')
    expect(loaded?.history.map(text)).toEqual(['chunk 1'])
    expect(loaded?.records.map(text)).toEqual(['r2', 'tail'])
    expect(loaded?.warnings).toEqual([
      expect.objectContaining({ kind: 'corrupt-snapshot', detail: expect.stringContaining('damaged') }),
    ])
    await rm(hist(2))
    loaded = await open().load('d')
    expect(text(loaded?.snapshot)).toBe('S1')
    expect(loaded?.warnings).toEqual([
      expect.objectContaining({ kind: 'corrupt-snapshot', detail: expect.stringContaining('missing') }),
    ])
  })

  it('opens a snapshot written before histories were kept apart ("MPS1"), and compacts past it', async () => {
    // The layout of that version: "MPS1" | u32 generation | u32 length | u32 crc32 | payload.
    const payload = bytes('S-old')
    const file = new Uint8Array(16 + payload.length)
    const view = new DataView(file.buffer)
    file.set([0x4d, 0x50, 0x53, 0x31], 0)
    view.setUint32(4, 1, true)
    view.setUint32(8, payload.length, true)
    file.set(payload, 16)
    view.setUint32(12, crc32(payload, crc32(file.subarray(0, 12))), true)
    mkdirSync(docDir(), { recursive: true })
    await writeFile(join(docDir(), 'snap-1.bin'), file)
    let store = open()
    expect(await loadText(store)).toMatchObject({ snapshot: 'S-old', records: [] })
    await store.append('d', [bytes('r')])
    await store.writeSnapshot('d', bytes('S-new'), [bytes('h')])
    store = open()
    const loaded = await store.load('d')
    expect(text(loaded?.snapshot)).toBe('S-new')
    expect(loaded?.history.map(text)).toEqual(['h'])
  })

  it('removes a history file a crash left without its snapshot, at the next compaction', async () => {
    let store = open()
    await store.append('d', [bytes('r1')])
    await store.writeSnapshot('d', bytes('S1'), [bytes('kept')])
    await store.close()
    const orphan = `hist-${createHash('sha256').update('orphan').digest('hex')}.bin`
    await writeFile(join(docDir(), orphan), 'orphan')
    store = open()
    expect(text((await store.load('d'))?.snapshot)).toBe('S1')
    await store.writeSnapshot('d', bytes('S2'), [bytes('kept')])
    expect(await readdir(docDir())).not.toContain(orphan)
    expect((await open().load('d'))?.history.map(text)).toEqual(['kept'])
  })

  it('deletes temp files that a crash during a snapshot left behind', async () => {
    await open().append('d', [bytes('x')])
    const stale = join(docDir(), '.snap-1.bin.0badf00d.meshpad-tmp')
    await writeFile(stale, 'half a snapshot')
    await open().load('d')
    expect(await readdir(docDir())).toEqual(['log-0.bin'])
  })
})

describe('FileStore group commit', () => {
  it('batches appends made while an fsync is in flight into one write', async () => {
    const fs = new FaultyFs()
    const store = open(fs)
    await store.append('d', [bytes('warm-up')])
    const syncsBefore = fs.count('sync')
    const writesBefore = fs.count('write')
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.append('d', [bytes(`op${i}`)])))
    expect(fs.count('sync') - syncsBefore).toBeLessThanOrEqual(2)
    expect(fs.count('write') - writesBefore).toBeLessThanOrEqual(2)
    expect((await loadText(open()))?.records).toHaveLength(101)
  })

  it('writes the appends made in one turn in one write, covered by one fsync', async () => {
    // A replica's first edit appends its claim, its author record and its ops one after another.
    const fs = new FaultyFs()
    const store = open(fs)
    await store.append('d', [bytes('warm-up')])
    const [writes, syncs] = [fs.count('write'), fs.count('sync')]
    await Promise.all(['claim', 'author', 'ops'].map((r) => store.append('d', [bytes(r)])))
    expect(fs.count('write') - writes).toBe(1)
    expect(fs.count('sync') - syncs).toBe(1)
    expect((await loadText(open()))?.records).toEqual(['warm-up', 'claim', 'author', 'ops'])
  })

  it('resolves an append only after its fsync has returned', async () => {
    const fs = new FaultyFs()
    let openGate = (): void => undefined
    fs.syncGate = { pathIncludes: 'log-', open: new Promise<void>((r) => (openGate = r)) }
    const store = open(fs)
    let resolved = false
    const pending = store.append('d', [bytes('x')]).then(() => (resolved = true))
    await new Promise((r) => setTimeout(r, 50))
    expect(resolved).toBe(false)
    openGate()
    await pending
    expect(resolved).toBe(true)
  })

  it('writes while an fsync is in flight: each append is written at once, acknowledged after its fsync', async () => {
    const fs = new FaultyFs()
    const store = open(fs)
    await store.append('d', [bytes('warm-up')]) // the file and its directory entry exist
    let openGate = (): void => undefined
    fs.syncGate = { pathIncludes: 'log-', open: new Promise<void>((r) => (openGate = r)) }
    const events: string[] = []
    const first = store.append('d', [bytes('first')], { written: () => events.push('first written') })
    await until(() => events.length === 1)
    // The first fsync is held; the second append is still written right away, not after it.
    const second = store.append('d', [bytes('second')], { written: () => events.push('second written') })
    await until(() => events.length === 2)
    const log = (await readdir(docDir())).find((f) => f.startsWith('log-'))!
    expect((await readFile(join(docDir(), log))).includes(Buffer.from('second'))).toBe(true)
    void first.then(() => events.push('first durable'))
    void second.then(() => events.push('second durable'))
    await new Promise((r) => setTimeout(r, 30))
    expect(events).toEqual(['first written', 'second written'])
    openGate()
    await Promise.all([first, second])
    expect(events).toEqual(['first written', 'second written', 'first durable', 'second durable'])
    expect((await loadText(open()))?.records).toEqual(['warm-up', 'first', 'second'])
  })

  it('fails and keeps every record written since the last good fsync when an fsync fails', async () => {
    const fs = new FaultyFs()
    const store = open(fs)
    await store.append('d', [bytes('durable')])
    let openGate = (): void => undefined
    fs.syncGate = { pathIncludes: 'log-', open: new Promise<void>((r) => (openGate = r)) }
    fs.inject({ op: 'sync', nth: 1, code: 'EIO', pathIncludes: 'log-' })
    let written = 0
    const a = store.append('d', [bytes('a')], { written: () => written++ })
    const aFailed = expect(a).rejects.toMatchObject({ code: 'IO' })
    await until(() => written === 1)
    const b = store.append('d', [bytes('b')], { written: () => written++ }) // written during the failing fsync
    const bFailed = expect(b).rejects.toMatchObject({ code: 'IO' })
    await until(() => written === 2)
    openGate()
    await aFailed
    await bFailed
    // Kept, and written again ahead of the next append, once each.
    await store.append('d', [bytes('c')])
    expect((await loadText(open()))?.records).toEqual(['durable', 'a', 'b', 'c'])
  })
})

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(check()).toBe(true)
}

describe("FileStore deferred appends (a peer's ops)", () => {
  it('waits for the next write, keeps its place in the order, and is written within DEFER_MS anyway', async () => {
    const fs = new FaultyFs()
    const store = open(fs)
    await store.append('d', [bytes('warm-up')])
    const writes = fs.count('write')
    const syncs = fs.count('sync')
    // Four of a peer's ops, then this device's own edit: one write and one fsync for all five.
    const deferred = Array.from({ length: 4 }, (_, i) =>
      store.append('d', [bytes(`peer${i}`)], { deferred: true }),
    )
    await new Promise((r) => setImmediate(r))
    expect(fs.count('write')).toBe(writes) // nothing written yet
    await Promise.all([...deferred, store.append('d', [bytes('own')])])
    expect(fs.count('write') - writes).toBe(1)
    expect(fs.count('sync') - syncs).toBe(1)
    // Alone, a deferred op is written once DEFER_MS have passed.
    const start = performance.now()
    await store.append('d', [bytes('late')], { deferred: true })
    expect(performance.now() - start).toBeGreaterThanOrEqual(DEFER_MS - 2)
    expect((await loadText(open()))?.records).toEqual([
      'warm-up',
      'peer0',
      'peer1',
      'peer2',
      'peer3',
      'own',
      'late',
    ])
  })

  it('once written, waits for the next fsync: its own edit, a flush, or SYNC_DEFER_MS', async () => {
    const fs = new FaultyFs()
    const store = open(fs)
    await store.append('d', [bytes('warm-up')])
    const [writes, syncs] = [fs.count('write'), fs.count('sync')]
    // Written within DEFER_MS, not fsynced: durable only with the own edit that follows.
    let peerDurable = false
    const peer = store.append('d', [bytes('peer0')], { deferred: true }).then(() => (peerDurable = true))
    await until(() => fs.count('write') === writes + 1)
    await new Promise((r) => setTimeout(r, DEFER_MS))
    expect(fs.count('sync')).toBe(syncs)
    expect(peerDurable).toBe(false)
    await store.append('d', [bytes('own')])
    expect(peerDurable).toBe(true)
    await peer
    expect(fs.count('sync')).toBe(syncs + 1)
    // A flush covers it too.
    const flushed = store.append('d', [bytes('peer1')], { deferred: true })
    await until(() => fs.count('write') === writes + 3)
    await store.append('d', [])
    await flushed
    expect(fs.count('sync')).toBe(syncs + 2)
    // Alone: fsynced by the timer, SYNC_DEFER_MS after its write.
    const start = performance.now()
    await store.append('d', [bytes('peer2')], { deferred: true })
    expect(performance.now() - start).toBeGreaterThanOrEqual(DEFER_MS + SYNC_DEFER_MS - 2)
    expect(fs.count('sync')).toBe(syncs + 3)
    expect((await loadText(open()))?.records).toEqual(['warm-up', 'peer0', 'own', 'peer1', 'peer2'])
    await store.close()
  })

  it('is written when the store closes before DEFER_MS', async () => {
    const store = open()
    await store.append('d', [bytes('first')])
    let durable = false
    const pending = store.append('d', [bytes('peer')], { deferred: true }).then(() => (durable = true))
    await new Promise((r) => setImmediate(r)) // in the log's queue, waiting for a write
    await store.close()
    expect(durable).toBe(true) // written and fsynced by the close, not left to the timer
    await pending
    expect((await loadText(open()))?.records).toEqual(['first', 'peer'])
  })
})

describe('FileStore close', () => {
  it('releases every file handle, across several documents and snapshots', async () => {
    const fs = new FaultyFs()
    const store = open(fs)
    for (const id of ['a', 'b']) {
      await store.append(id, [bytes('1')])
      await store.writeSnapshot(id, bytes('S'))
      await store.append(id, [bytes('2')])
    }
    expect(fs.openHandles).toBeGreaterThan(0)
    await store.close()
    expect(fs.openHandles).toBe(0)
  })
})
