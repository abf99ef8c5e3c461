/**
 * The store under filesystem faults: ENOSPC, EIO and EACCES on the Nth write, fsync, open or rename, for
 * N = 1..K. Each run appends in pairs (so group commit is in play) and compacts every few steps; a snapshot
 * here is the JSON list of the records it covers, so the reloaded state can be checked record by record.
 * After the fault: every error was a typed StorageError; a copy of the data dir taken at that moment
 * (a crash) reloads to a prefix of the attempted records that holds every acknowledged one; and once the
 * fault is gone, one flush makes every record durable, none lost.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StorageError, type StorageErrorCode } from '../../../src/main/storage/errors'
import { FileStore } from '../../../src/main/storage/file-store'
import { FaultyFs, type FaultOp } from './faulty-fs'

const K = 6
const CODES: [string, StorageErrorCode][] = [
  ['ENOSPC', 'DISK_FULL'],
  ['EIO', 'IO'],
  ['EACCES', 'PERMISSION_DENIED'],
]
const OPS: FaultOp[] = ['write', 'sync', 'open', 'rename']

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-faults-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

/** The records a store holds for 'd', snapshot first, duplicates (replays) removed. */
async function reconstruct(dir: string): Promise<string[]> {
  const store = new FileStore({ dir })
  try {
    const doc = await store.load('d')
    const all = [
      ...(doc?.snapshot ? (JSON.parse(text(doc.snapshot)) as string[]) : []),
      ...(doc?.records ?? []).map(text),
    ]
    return [...new Set(all)]
  } finally {
    await store.close()
  }
}

describe.each(CODES)('store under %s', (errno, code) => {
  it.each(OPS)(`keeps every acknowledged record when the Nth %s fails (N = 1..${K})`, async (op) => {
    let faultsThatSurfaced = 0
    for (let n = 1; n <= K; n++) {
      const dir = join(root, `${errno}-${op}-${n}`)
      const fs = new FaultyFs()
      const store = new FileStore({ dir, fs })
      const attempted: string[] = []
      const acked = new Set<string>()
      const errors: unknown[] = []
      const submit = (record: string): Promise<void> => {
        attempted.push(record)
        return store.append('d', [bytes(record)]).then(
          () => void acked.add(record),
          (e: unknown) => void errors.push(e),
        )
      }
      const snapshot = (): Promise<void> =>
        store.writeSnapshot('d', bytes(JSON.stringify(attempted))).catch((e: unknown) => void errors.push(e))
      const step = (i: number): Promise<unknown> => Promise.all([submit(`${i}a`), submit(`${i}b`)])

      // Some history first, so the fault meets rotated segments and a fallback snapshot.
      await store.load('d')
      for (let i = 0; i < 3; i++) await step(i)
      await snapshot()
      await step(3)

      fs.inject({ op, nth: n, code: errno, partial: true })
      for (let i = 4; i < 12; i++) {
        await step(i)
        // Renames and most opens happen only around snapshots; write and fsync faults must be survived by
        // the log alone, with no snapshot to cover for a lost record.
        if (op === 'rename' || op === 'open') await snapshot()
      }
      await step(12)
      expect(fs.fired.length, `fault ${op} #${n} fired`).toBe(1)
      for (const e of errors) {
        expect(e).toBeInstanceOf(StorageError)
        expect((e as StorageError).code).toBe(code)
        expect((e as StorageError).message).toContain(dir)
      }
      if (errors.length > 0) faultsThatSurfaced++

      const crashCopy = join(root, `${errno}-${op}-${n}-crash`)
      await cp(dir, crashCopy, { recursive: true })
      const afterCrash = await reconstruct(crashCopy)
      expect(afterCrash).toEqual(attempted.slice(0, afterCrash.length))
      for (const record of acked) expect(afterCrash).toContain(record)

      await store.append('d', [])
      await store.close()
      expect(await reconstruct(dir)).toEqual(attempted)
    }
    expect(faultsThatSurfaced).toBeGreaterThan(0)
  })
})
