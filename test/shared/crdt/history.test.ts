import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'

describe('TextDoc history', () => {
  it('lists every op in order with its replica, time and effect', () => {
    let now = 1_700_000_000_000
    const a = new TextDoc('alice', { clock: () => now })
    a.localInsert(0, 'hello')
    now += 60_000
    a.localDelete(0, 1)
    expect(a.history()).toEqual([
      { kind: 'insert', replica: 'alice', counter: 1, length: 5, time: 1_700_000_000, text: 'hello' },
      {
        kind: 'delete',
        replica: 'alice',
        counter: 6,
        length: 1,
        time: 1_700_000_060,
        target: { replica: 'alice', counter: 1 },
      },
    ])
  })

  it('stamps live batches on arrival, but keeps the original times of a catch-up', () => {
    let aliceNow = 1_000_000_000
    let bobNow = 2_000_000_000
    const a = new TextDoc('alice', { clock: () => aliceNow })
    const b = new TextDoc('bob', { clock: () => bobNow })
    const live = a.localInsert(0, 'x')
    aliceNow += 5_000_000
    a.localInsert(1, 'y')
    b.applyRemote(live)
    expect(b.history()[0]!.time).toBe(2_000_000) // arrival: live keystrokes carry no time
    bobNow += 1000
    b.applyRemote(a.changesSince(b.version()))
    expect(b.history()[1]).toMatchObject({ text: 'y', time: 1_005_000 }) // made while apart: its own time
  })

  it('keeps times across save and load', () => {
    const a = new TextDoc('alice', { clock: () => 1_234_000 })
    a.localInsert(0, 'abc')
    const loaded = TextDoc.load(a.save(), 'alice2', { clock: () => 9_999_999_000 })
    expect(loaded.history()).toEqual(a.history())
  })
})
