/**
 * DiskTexts (src/main/project/disk-texts.ts) says which files have a change from disk waiting to be
 * merged, or being merged: their documents must not close meanwhile (ProjectFolder's close guard), or
 * the change would be read from disk and never reach the project. A merge binds its disk replica in
 * the write of its ops, not in a write of its own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { decodeSeals } from '../../../src/main/node/replica-seal'
import { DiskTexts, mergeDiskText } from '../../../src/main/project/disk-texts'
import { cleanup, makeNode, type TestNode } from '../node/cluster'
import { DEFAULT_TEXT_FORMAT } from '../../../src/main/storage/text-format'

describe('DiskTexts: changes from disk pending', () => {
  it('a file is pending from its change on disk until its merge is over, failed or not', async () => {
    let fail: (e: Error) => void = () => undefined
    const opening = new Promise<DocSession>((_, reject) => (fail = reject))
    const texts = new DiskTexts({
      file: () => undefined,
      open: () => opening,
      hashOnDisk: () => undefined,
      bases: new Map(),
    })
    expect(texts.pending('a')).toBe(false)
    texts.set('a', 'changed on disk\n', DEFAULT_TEXT_FORMAT)
    expect(texts.pending('a')).toBe(true)
    const merged = texts.merge()
    expect(texts.pending('a')).toBe(true) // its document is being opened to take it
    expect(texts.pending('b')).toBe(false)
    fail(new Error('the store is gone'))
    await expect(merged).rejects.toThrow('the store is gone')
    expect(texts.pending('a')).toBe(false)
  })
})

describe('mergeDiskText', () => {
  const nodes: TestNode[] = []
  afterEach(() => cleanup(nodes.splice(0)))

  it('stores the disk replica’s claim once, and each merge’s seal at once, with its ops', async () => {
    const ana = await makeNode('ana')
    nodes.push(ana)
    const doc = await ana.ws.createDoc('notes')
    const stored = vi.spyOn(doc.durable, 'stageSeal') // every seal stored goes through it
    /** The counters of the disk replica's seals stored so far, its claim (counter 0) included. */
    const sealed = (disk: string): number[] =>
      stored.mock.calls
        .filter(([key]) => key === disk)
        .flatMap(([, bytes]) => decodeSeals(bytes).map((s) => s.counter))
    await mergeDiskText(doc, 'changed on disk\n')
    expect(doc.text).toBe('changed on disk\n')
    const [disk] = Object.keys(doc.textVersion()).filter((r) => r !== doc.durable.replica)
    expect(disk).toBeDefined()
    const first = doc.textVersion()[disk!]!
    expect(sealed(disk!)).toEqual([0, first])
    // The next merge takes the same replica up: bound already, so only its new seal is stored.
    await mergeDiskText(doc, 'changed on disk again\n')
    expect(Object.keys(doc.textVersion()).filter((r) => r !== doc.durable.replica)).toEqual([disk])
    expect(sealed(disk!)).toEqual([0, first, doc.textVersion()[disk!]])
    // Nothing is left for a pause in typing to seal: idle once a round has run.
    ana.ws.syncAll()
    expect(doc.idle).toBe(true)
  })
})
