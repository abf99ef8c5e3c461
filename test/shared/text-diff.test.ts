/**
 * diffHunks beyond what the disk merge tests cover (test/main/storage/disk-merge.test.ts): texts too
 * big for a character diff still come out as small edits, so that a restore or a merge keeps the
 * identity (and the authorship) of the text it does not change.
 */
import { describe, expect, it } from 'vitest'
import { diffHunks, type Hunk } from '../../src/shared/text-diff'
import { applyHunks as apply } from '../support/hunks'

const touched = (hunks: readonly Hunk[]): number =>
  hunks.reduce((n, h) => n + h.deleteCount + h.insert.length, 0)

/** A long paragraph on one line (prose in Markdown, a minified file): `words` words. */
const paragraph = (words: number): string =>
  Array.from({ length: words }, (_, i) => `word${i % 97}`).join(' ')

/**
 * A budget no machine load can exhaust: these tests are about how small the edits are, which the
 * default budget (1 s) makes depend on the machine's speed. Speed is the benches' job.
 */
const UNHURRIED = 120_000

describe('diffHunks on texts too big for a character diff', () => {
  it('changes two words of a 30 000-character line, not the whole line', () => {
    const old = paragraph(4500)
    expect(old.length).toBeGreaterThan(30_000)
    const next = old.replace('word5 ', 'fifth ').replace(/word37$/, 'thirty-seven')
    expect(next.endsWith('thirty-seven')).toBe(true)
    const hunks = diffHunks(old, next, UNHURRIED)
    expect(apply(old, hunks)).toBe(next)
    expect(touched(hunks)).toBeLessThan(40)
  })

  it('keeps edits small in a heavily edited region of many lines', () => {
    const lines = Array.from({ length: 600 }, (_, i) => `line ${i}: ${paragraph(8)}`)
    const old = lines.join('\n')
    const next = lines.map((l, i) => (i % 3 === 0 ? l.replace('word3', 'WORD3') : l)).join('\n')
    const hunks = diffHunks(old, next, UNHURRIED)
    expect(apply(old, hunks)).toBe(next)
    expect(touched(hunks)).toBeLessThan(200 * 12)
  })

  it('replaces a region whole, still correctly, when its time runs out', () => {
    const old = paragraph(4500)
    const next = old.replace('word5 ', 'fifth ').replace(/word37$/, 'thirty-seven')
    const hunks = diffHunks(old, next, 0)
    expect(apply(old, hunks)).toBe(next)
    expect(hunks).toHaveLength(1)
  })

  it('replaces a region whole when it has nothing in common', () => {
    const hunks = diffHunks('abc', 'xyz')
    expect(hunks).toEqual([{ index: 0, deleteCount: 3, insert: 'xyz' }])
  })
})

describe('diffHunks when one side of the changed region is empty', () => {
  // A shared folder's new file is merged from '' (issue 15): one hunk, whatever the text's size,
  // and with no time budget at all (a diff would have to tokenize the text first).
  it('a whole new text is one insert, even with no time to diff', () => {
    const text = paragraph(50_000)
    expect(diffHunks('', text, 0)).toEqual([{ index: 0, deleteCount: 0, insert: text }])
  })

  it('text added at the end or removed from the middle is one hunk at its place', () => {
    expect(diffHunks('abc', 'abcdef', 0)).toEqual([{ index: 3, deleteCount: 0, insert: 'def' }])
    expect(diffHunks('ab-cut-cd', 'abcd', 0)).toEqual([{ index: 2, deleteCount: 5, insert: '' }])
    const emoji = 'x😀y'
    const hunks = diffHunks(emoji, 'xy', 0)
    expect(apply(emoji, hunks)).toBe('xy')
    expect(touched(hunks)).toBe(2)
  })
})
