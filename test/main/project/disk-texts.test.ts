/**
 * DiskTexts (src/main/project/disk-texts.ts) says which files have a change from disk waiting to be
 * merged, or being merged: their documents must not close meanwhile (ProjectFolder's close guard), or
 * the change would be read from disk and never reach the project.
 */
import { describe, expect, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { DiskTexts } from '../../../src/main/project/disk-texts'
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
