/**
 * Shared directory fsyncs (src/main/storage/dir-syncs.ts): a caller gets an fsync that started after
 * it asked, shared with the callers that asked meanwhile; a failure reaches every caller that shared
 * it. And FileStore on a real disk: documents made together share fsyncs of the documents folder, and
 * none acknowledges a record before an fsync of that folder that began after its own folder was made.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DirSyncs } from '../../../src/main/storage/dir-syncs'
import { FileStore } from '../../../src/main/storage/file-store'
import { nodeFs, type StorageFile, type StorageFs } from '../../../src/main/storage/fs-layer'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** An fs whose directory fsyncs wait until released one by one (`release`), recording each. */
function gatedFs(): { fs: StorageFs; started: string[]; release(error?: Error): void } {
  const gates: ((error?: Error) => void)[] = []
  const started: string[] = []
  const fs: StorageFs = {
    ...nodeFs,
    open: async (path) =>
      ({
        sync: () =>
          new Promise<void>((resolve, reject) => {
            started.push(path)
            gates.push((error) => (error ? reject(error) : resolve()))
          }),
        close: async () => undefined,
      }) as unknown as StorageFile,
  }
  return { fs, started, release: (error) => gates.shift()!(error) }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5))

describe('DirSyncs', () => {
  it('gives a caller an fsync begun after it asked, shared with those who asked meanwhile', async () => {
    const { fs, started, release } = gatedFs()
    const syncs = new DirSyncs(fs)
    const done: number[] = []
    const first = syncs.sync('/d').then(() => done.push(1))
    await tick()
    expect(started).toEqual(['/d'])
    // Asked while the first is in flight: it may have begun before their entries were made.
    const later = [2, 3, 4].map((n) => syncs.sync('/d').then(() => done.push(n)))
    const other = syncs.sync('/e').then(() => done.push(5)) // another folder: its own, at once
    await tick()
    expect(started).toEqual(['/d', '/e'])
    release() // the first /d
    await first
    await tick()
    expect(done).toEqual([1])
    expect(started).toEqual(['/d', '/e', '/d']) // one more for the three waiting
    release() // /e
    await other
    release() // the second /d
    await Promise.all(later)
    expect(done.sort()).toEqual([1, 2, 3, 4, 5])
    expect(started).toHaveLength(3)
  })

  it('a failed fsync rejects every caller that shared it; the next call starts a new one', async () => {
    const { fs, started, release } = gatedFs()
    const syncs = new DirSyncs(fs)
    const first = syncs.sync('/d')
    await tick()
    const a = syncs.sync('/d')
    const b = syncs.sync('/d')
    release()
    await first
    await tick()
    release(Object.assign(new Error('EIO: injected'), { code: 'EIO' }))
    await expect(a).rejects.toThrow(/EIO/)
    await expect(b).rejects.toThrow(/EIO/)
    const c = syncs.sync('/d')
    await tick()
    expect(started).toHaveLength(3)
    release()
    await c
  })
})

describe('FileStore: new documents', () => {
  it('share fsyncs of the documents folder, and acknowledge nothing before one begun after their folder was made', async () => {
    const root = mkdtempSync(join(tmpdir(), 'meshpad-dirsyncs-'))
    dirs.push(root)
    const docsDir = join(root, 'docs')
    await nodeFs.mkdir(docsDir)
    const events: string[] = []
    const fs: StorageFs = {
      ...nodeFs,
      mkdir: async (path) => {
        const made = await nodeFs.mkdir(path)
        events.push(`mkdir ${basename(path)}`)
        return made
      },
      open: async (path, flags, mode) => {
        const file = await nodeFs.open(path, flags, mode)
        if (path !== docsDir) return file
        return {
          ...file,
          sync: async () => {
            const n = events.filter((e) => e.startsWith('sync-start')).length
            events.push(`sync-start ${n}`)
            await new Promise((r) => setTimeout(r, 2)) // long enough for others to ask meanwhile
            await file.sync()
            events.push(`sync-end ${n}`)
          },
        }
      },
    }
    const store = new FileStore({ dir: docsDir, fs })
    const ids = Array.from({ length: 24 }, (_, i) => `d${String(i).padStart(2, '0')}`)
    await Promise.all(
      ids.map(async (id) => {
        await store.load(id)
        await store.append(id, [new Uint8Array([1, 2, 3])])
        events.push(`acked ${id}`)
      }),
    )
    await store.close()
    const syncs = events.filter((e) => e.startsWith('sync-start')).length
    expect(syncs).toBeLessThan(ids.length)
    for (const id of ids) {
      const made = events.indexOf(`mkdir ${id}`)
      const acked = events.indexOf(`acked ${id}`)
      expect(made).toBeGreaterThanOrEqual(0)
      // Some fsync of the documents folder started after the folder was made and ended before the ack.
      const covered = events.some((e, i) => {
        if (!e.startsWith('sync-start') || i < made) return false
        const end = events.indexOf(`sync-end ${e.split(' ')[1]}`)
        return end >= 0 && end < acked
      })
      expect(covered, id).toBe(true)
    }
    // And the records are there for a new store.
    const again = new FileStore({ dir: docsDir })
    for (const id of ids) expect((await again.load(id))?.records).toEqual([new Uint8Array([1, 2, 3])])
    await again.close()
  })
})
