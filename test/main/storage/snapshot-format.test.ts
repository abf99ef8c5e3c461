import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../../src/main/storage/atomic-write'
import { decodeSnapshot, encodeSnapshotParts, historyEntry } from '../../../src/main/storage/snapshot-format'
import { FaultyFs } from './faulty-fs'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-snapshot-format-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const chunk = new TextEncoder().encode('a history chunk')
const history = [historyEntry('ab'.repeat(32), chunk)]
const head = Uint8Array.of(7, 7, 7)
const big = new Uint8Array(200_000).map((_, i) => i % 251)

describe('encodeSnapshotParts', () => {
  it('is the header and then the payload arrays themselves, never copied: together, a valid snapshot', () => {
    const parts = encodeSnapshotParts(3, history, head, big)
    expect(parts).toHaveLength(3)
    expect(parts[1]).toBe(head)
    expect(parts[2]).toBe(big)
    const whole = Buffer.concat(parts)
    expect(whole.length).toBe(16 + 4 + 40 + head.length + big.length) // header, history list, payload
    const decoded = decodeSnapshot(whole, 3)
    if (typeof decoded === 'string') throw new Error(decoded)
    expect(decoded.history).toEqual(history)
    expect(Buffer.from(decoded.payload).equals(Buffer.concat([head, big]))).toBe(true)
  })

  it('checksums every part: a byte changed in the last one is refused', () => {
    const whole = Buffer.concat(encodeSnapshotParts(1, [], head, big))
    whole[whole.length - 1]! ^= 1
    expect(decodeSnapshot(whole, 1)).toMatch(/checksum|crc/i)
  })
})

describe('writeFileAtomic, in parts', () => {
  it('writes the parts one after another, and replaces the file only once all are written', async () => {
    const path = join(dir, 'base.bin')
    await writeFile(path, 'before')
    const fs = new FaultyFs().inject({ op: 'write', nth: 2, code: 'ENOSPC' })
    await expect(writeFileAtomic(fs, path, encodeSnapshotParts(0, [], head, big))).rejects.toThrow()
    expect(await readFile(path, 'utf8')).toBe('before')
    expect(await readdir(dir)).toEqual(['base.bin']) // the temp file is gone too

    await writeFileAtomic(new FaultyFs(), path, encodeSnapshotParts(0, [], head, big))
    const decoded = decodeSnapshot(await readFile(path), 0)
    if (typeof decoded === 'string') throw new Error(decoded)
    expect(Buffer.from(decoded.payload).equals(Buffer.concat([head, big]))).toBe(true)
  })
})
