import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { diffHunks, diskChangeBatch } from '../../../src/main/storage/disk-merge'
import { applyHunks as apply } from '../../support/hunks'

function random(seed: number): () => number {
  let s = seed
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32
}

describe('diffHunks', () => {
  it('turns the old text into the new one, for random edits with emoji and newlines', () => {
    const rnd = random(7)
    const alphabet = ['a', 'b', ' ', '\n', '😀', 'é', 'xyz\n']
    const word = (n: number): string =>
      Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('')
    for (let round = 0; round < 300; round++) {
      const old = word(Math.floor(rnd() * 60))
      let next = old
      for (let e = 0; e < 1 + Math.floor(rnd() * 4); e++) {
        const at = Math.floor(rnd() * (next.length + 1))
        next = next.slice(0, at) + word(Math.floor(rnd() * 5)) + next.slice(at + Math.floor(rnd() * 4))
      }
      next = next.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
      const hunks = diffHunks(old, next)
      expect(apply(old, hunks)).toBe(next)
      for (let i = 1; i < hunks.length; i++) expect(hunks[i]!.index).toBeGreaterThan(hunks[i - 1]!.index)
    }
  })

  it('never splits a surrogate pair', () => {
    const hunks = diffHunks('a😀b', 'a😃b')
    expect(hunks).toEqual([{ index: 1, deleteCount: 2, insert: '😃' }])
  })

  it('keeps the edits small on a 10 MB text with a few scattered changes', () => {
    const line = 'the quick brown fox jumps over the lazy dog 0123456789\n'
    const old = line.repeat(Math.ceil(10_000_000 / line.length))
    const lines = old.split('\n')
    lines[10] = 'changed near the top'
    lines[lines.length >> 1] += ' and in the middle'
    lines.splice(lines.length - 5, 1)
    const next = lines.join('\n')
    // Unhurried: how small the edits come out must not depend on the machine's load (under the default
    // 1 s budget, a loaded machine gets coarser, still correct, edits).
    const hunks = diffHunks(old, next, 120_000)
    expect(apply(old, hunks)).toBe(next)
    expect(hunks.reduce((n, h) => n + h.deleteCount + h.insert.length, 0)).toBeLessThan(200)
  })
})

describe('diskChangeBatch', () => {
  it('merges a change on disk with edits made in the document since the base', () => {
    const live = new TextDoc('live0001')
    live.localInsert(0, 'hello world\nsecond line\n')
    const base = TextDoc.load(live.save(), 'disk0001')
    live.localInsert(5, ' brave') // typed in Meshpad after the base
    const batch = diskChangeBatch(base, 'hello world!\nsecond line, edited\n', live.version())
    expect(base.toString()).toBe('hello world!\nsecond line, edited\n')
    live.applyRemote(batch)
    expect(live.toString()).toBe('hello brave world!\nsecond line, edited\n')
    expect(Object.keys(live.version())).toContain('disk0001')
  })

  it('produces nothing when the disk text is the base text', () => {
    const live = new TextDoc('live0001')
    live.localInsert(0, 'same')
    const base = TextDoc.load(live.save(), 'disk0001')
    live.localInsert(4, ' typed')
    live.applyRemote(diskChangeBatch(base, 'same', live.version()))
    expect(live.toString()).toBe('same typed')
    expect(live.version()['disk0001']).toBeUndefined()
  })
})
