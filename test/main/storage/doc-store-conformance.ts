/**
 * The DocStore contract as one suite: every implementation runs it through `describeDocStore`.
 * A harness opens stores over one backing (a temp dir, a Map), so "reopen" means a process restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DocStore } from '../../../src/main/storage/doc-store'
import { StorageError } from '../../../src/main/storage/errors'

export interface StoreHarness {
  /** A new store over the same backing: data written by earlier stores must be visible. */
  open(): DocStore
  dispose(): Promise<void>
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array | null | undefined): string | null => (b ? new TextDecoder().decode(b) : null)

export function describeDocStore(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`${name} passes the DocStore conformance suite`, () => {
    let harness: StoreHarness
    let opened: DocStore[]
    const open = (): DocStore => {
      const store = harness.open()
      opened.push(store)
      return store
    }
    const reopen = async (store: DocStore): Promise<DocStore> => {
      await store.close()
      return open()
    }
    const loadText = async (store: DocStore, docId: string) => {
      const doc = await store.load(docId)
      return doc && { snapshot: text(doc.snapshot), records: doc.records.map(text) }
    }

    beforeEach(async () => {
      harness = await makeHarness()
      opened = []
    })
    afterEach(async () => {
      for (const store of opened) await store.close()
      await harness.dispose()
    })

    it('knows nothing at first', async () => {
      const store = open()
      expect(await store.list()).toEqual([])
      expect(await store.load('nope')).toBeNull()
    })

    it('returns appended records in call order, before and after a restart', async () => {
      let store = open()
      await store.append('doc1', [bytes('a'), bytes('b')])
      await store.append('doc1', [bytes('c')])
      expect(await loadText(store, 'doc1')).toEqual({ snapshot: null, records: ['a', 'b', 'c'] })
      store = await reopen(store)
      expect(await loadText(store, 'doc1')).toEqual({ snapshot: null, records: ['a', 'b', 'c'] })
      expect(await store.list()).toEqual(['doc1'])
    })

    it('keeps the call order of appends that are not awaited one by one', async () => {
      let store = open()
      const expected = Array.from({ length: 50 }, (_, i) => `op${i}`)
      await Promise.all(expected.map((op) => store.append('d', [bytes(op)])))
      store = await reopen(store)
      expect((await loadText(store, 'd'))?.records).toEqual(expected)
    })

    it('replaces the records before a snapshot with the snapshot', async () => {
      let store = open()
      await store.append('d', [bytes('a'), bytes('b')])
      await store.writeSnapshot('d', bytes('S1'))
      await store.append('d', [bytes('c')])
      expect(await loadText(store, 'd')).toEqual({ snapshot: 'S1', records: ['c'] })
      store = await reopen(store)
      expect(await loadText(store, 'd')).toEqual({ snapshot: 'S1', records: ['c'] })
    })

    it('keeps records appended while a snapshot is being written', async () => {
      let store = open()
      const first = store.append('d', [bytes('a')])
      const snap = store.writeSnapshot('d', bytes('S(a)'))
      const later = store.append('d', [bytes('b')])
      await Promise.all([first, snap, later])
      store = await reopen(store)
      expect(await loadText(store, 'd')).toEqual({ snapshot: 'S(a)', records: ['b'] })
    })

    it('loads the newest of several snapshots', async () => {
      let store = open()
      for (let i = 1; i <= 5; i++) {
        await store.append('d', [bytes(`r${i}`)])
        await store.writeSnapshot('d', bytes(`S${i}`))
      }
      await store.append('d', [bytes('tail')])
      store = await reopen(store)
      expect(await loadText(store, 'd')).toEqual({ snapshot: 'S5', records: ['tail'] })
    })

    it('gives back the history kept beside a snapshot, in order, after a restart', async () => {
      let store = open()
      await store.append('d', [bytes('r1')])
      await store.writeSnapshot('d', bytes('S1'), [bytes('h1'), bytes('h2')])
      await store.append('d', [bytes('r2')])
      await store.writeSnapshot('d', bytes('S2'), [bytes('h1'), bytes('h2'), bytes('h3')])
      store = await reopen(store)
      const loaded = await store.load('d')
      expect(text(loaded?.snapshot)).toBe('S2')
      expect(loaded?.history.map(text)).toEqual(['h1', 'h2', 'h3'])
      await store.writeSnapshot('d', bytes('S3'))
      store = await reopen(store)
      expect((await store.load('d'))?.history).toEqual([])
    })

    it('keeps documents apart, and removes one without touching the others', async () => {
      let store = open()
      await store.append('b-doc', [bytes('b1')])
      await store.append('a-doc', [bytes('a1')])
      await store.writeSnapshot('b-doc', bytes('SB'))
      expect(await store.list()).toEqual(['a-doc', 'b-doc'])
      await store.remove('b-doc')
      expect(await store.list()).toEqual(['a-doc'])
      expect(await store.load('b-doc')).toBeNull()
      store = await reopen(store)
      expect(await store.list()).toEqual(['a-doc'])
      expect(await loadText(store, 'a-doc')).toEqual({ snapshot: null, records: ['a1'] })
      await store.append('b-doc', [bytes('again')])
      expect(await loadText(store, 'b-doc')).toEqual({ snapshot: null, records: ['again'] })
    })

    it('copies what it is given, and stores empty and large records exactly', async () => {
      let store = open()
      const record = bytes('mutable')
      const pending = store.append('d', [record, new Uint8Array(0)])
      record.fill(0)
      await pending
      const large = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff)
      await store.append('d', [large])
      store = await reopen(store)
      const loaded = await store.load('d')
      expect(text(loaded?.records[0])).toBe('mutable')
      expect(loaded?.records[1]?.byteLength).toBe(0)
      // Buffer.equals: a deep toEqual over a megabyte takes seconds.
      expect(Buffer.from(loaded!.records[2]!).equals(large)).toBe(true)
    })

    it('releases a closed document after its writes in flight, and opens it again on the next call', async () => {
      const store = open()
      await store.load('d')
      const appends = [store.append('d', [bytes('one')]), store.append('d', [bytes('two')])]
      await store.release('d') // not waiting for the appends: the release does
      await Promise.all(appends)
      expect(await loadText(store, 'd')).toEqual({ snapshot: null, records: ['one', 'two'] })
      await store.append('d', [bytes('three')])
      await store.release('d')
      await store.release('d') // once released, again is nothing
      await store.release('never-loaded')
      expect(await loadText(await reopen(store), 'd')).toEqual({
        snapshot: null,
        records: ['one', 'two', 'three'],
      })
    })

    it('resolves an empty append', async () => {
      const store = open()
      await expect(store.append('d', [])).resolves.toBeUndefined()
    })

    it('rejects document IDs that are not safe file names', async () => {
      const store = open()
      for (const bad of ['', '../escape', 'a/b', 'dot.dot', 'x'.repeat(65)]) {
        await expect(store.append(bad, [bytes('x')])).rejects.toThrow(RangeError)
        await expect(store.load(bad)).rejects.toThrow(RangeError)
      }
    })

    it('closes idempotently and then refuses every call', async () => {
      const store = open()
      await store.append('d', [bytes('x')])
      await store.close()
      await store.close()
      for (const call of [
        () => store.append('d', [bytes('y')]),
        () => store.writeSnapshot('d', bytes('S')),
        () => store.load('d'),
        () => store.list(),
      ]) {
        await expect(call()).rejects.toSatisfy((e) => e instanceof StorageError && e.code === 'CLOSED')
      }
    })
  })
}
