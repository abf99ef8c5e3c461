/**
 * Under Node: the History panel's groups (one rule for the slider and the timeline) and the count of
 * whose text a restore removes (what the others' notices say).
 */
import { describe, expect, it } from 'vitest'
import type { AuthorInfo } from '../../src/shared/api'
import { TextDoc } from '../../src/shared/crdt'
import { authorAt } from '../../src/renderer/src/collab/authorship'
import { charsByDevice } from '../../src/renderer/src/collab/restore'
import { historyGroups, stepsOf } from '../../src/renderer/src/history-groups'

const authors: Record<string, AuthorInfo> = {
  'ana-1': { device: 'ana', name: 'ana', color: '#111111' },
  'ana-2': { device: 'ana', name: 'ana', color: '#111111' },
  'ben-1': { device: 'ben', name: 'ben', color: '#222222' },
}

/** Ana writes "Hello world", Ben inserts " big" in it, then Ana (another window) appends "!". */
function written(clock: () => number): TextDoc {
  const ana = new TextDoc('ana-1', { clock })
  const ben = new TextDoc('ben-1', { clock })
  const ana2 = new TextDoc('ana-2', { clock })
  ben.applyRemote(ana.localInsert(0, 'Hello world'))
  ana2.applyRemote(ben.localInsert(5, ' big'))
  ana2.localInsert(ana2.length, '!')
  const all = new TextDoc('reader')
  for (const d of [ana, ben, ana2]) all.applyRemote(d.changesSince({}))
  return all
}

describe('history groups', () => {
  it('edits another member attests (counters its device never sealed) are that member’s word, in a group of their own', () => {
    const ana = new TextDoc('ana-1', { clock: () => 1_000_000 })
    ana.localInsert(0, 'sealed')
    ana.localInsert(0, 'withheld ') // counters 7–15 (an op of its own: not typed on from the last)
    const attested = {
      ...authors,
      'ana-1': { ...authors['ana-1']!, attested: [{ from: 7, to: 15, by: 'ben' }] },
    }
    expect(authorAt(attested, 'ana-1', 6).name).toBe('ana')
    expect(authorAt(attested, 'ana-1', 7).name).toBe('ana, as ben attests')
    expect(authorAt(attested, 'ana-1', 16).name).toBe('ana')
    expect(authorAt(attested, 'nobody', 1).device).toBe('') // not known yet
    expect(historyGroups(ana.history(), attested).map((g) => [g.author.name, g.inserted])).toEqual([
      ['ana', 6],
      ['ana, as ben attests', 9],
    ])
  })

  it('joins one device’s consecutive edits, across its windows, and steps by group', () => {
    const doc = written(() => 1_000_000)
    const groups = historyGroups(doc.history(), authors)
    expect(groups.map((g) => [g.author.name, g.inserted])).toEqual([
      ['ana', 11],
      ['ben', 4],
      ['ana', 1],
    ])
    expect(doc.textAfter(stepsOf(groups, 0))).toBe('')
    expect(doc.textAfter(stepsOf(groups, 2))).toBe('Hello big world')
    expect(doc.textAfter(stepsOf(groups, 3))).toBe('Hello big world!')
  })

  it('starts a new group after five minutes apart', () => {
    let now = 1_000_000
    const doc = new TextDoc('ana-1', { clock: () => now })
    doc.localInsert(0, 'a')
    now += 301_000 // ms
    doc.localInsert(1, 'b')
    expect(historyGroups(doc.history(), authors)).toHaveLength(2)
  })
})

describe('charsByDevice', () => {
  it('counts the characters of each device in the ranges, ranges across runs included', () => {
    const doc = written(() => 1_000_000)
    expect(doc.toString()).toBe('Hello big world!')
    // "lo big w" spans ana, ben, ana; "!" is ana's (another window, the same device).
    expect(
      charsByDevice(
        doc,
        [
          { from: 3, to: 11 },
          { from: 15, to: 16 },
        ],
        authors,
      ),
    ).toEqual({ ana: 5, ben: 4 })
    expect(charsByDevice(doc, [], authors)).toEqual({})
  })
})
