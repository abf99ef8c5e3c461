/**
 * `forkAfter` (the document as it was after the first steps of its history, for merging a change made
 * on disk against the text last written there) and `seenAfter` (which ops of a replica such a fork
 * holds): a disk merge takes up its last replica only when the fork holds every op of it, so that the
 * replica's new ops follow its old ones (src/main/node/doc-provenance.ts, takeDiskReplica).
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'

const A = 'AAAAAAAAAAAA'
const B = 'BBBBBBBBBBBB'

describe('TextDoc.forkAfter and seenAfter', () => {
  it('tell which ops of a replica a fork holds; a replica all of whose ops it holds goes on from there', () => {
    const live = new TextDoc(A)
    live.localInsert(0, 'abc') // A 1-3
    const bob = new TextDoc(B)
    bob.applyRemote(live.changesSince({}))
    bob.localInsert(3, 'X') // B 1
    live.applyRemote(bob.changesSince(live.version()))
    live.localInsert(0, 'd') // A 4
    expect(live.toString()).toBe('dabcX')
    expect(live.historyLength()).toBe(3)

    expect([0, 1, 2, 3].map((steps) => live.seenAfter(steps, A))).toEqual([0, 3, 3, 4])
    expect([0, 1, 2, 3].map((steps) => live.seenAfter(steps, B))).toEqual([0, 0, 1, 1])
    expect(live.seenAfter(3, 'CCCCCCCCCCCC')).toBe(0)

    // After two steps, A's fourth op is not in the fork: new ops of A made there would not follow it.
    expect(live.forkAfter(2, A).seenOf(A)).toBe(3)
    // After three, every op of A is: A goes on at 5, and the text takes it as any peer would.
    const fork = live.forkAfter(3, A)
    expect(fork.seenOf(A)).toBe(live.seenOf(A))
    const batch = fork.localInsert(5, '!')
    live.applyRemote(batch)
    bob.applyRemote(live.changesSince(bob.version()))
    expect(live.version()).toEqual({ [A]: 5, [B]: 1 })
    expect(bob.toString()).toBe(live.toString())
    expect(live.toString()).toBe('dabcX!')
  })

  it('seenAfter agrees with a fork’s seenOf, for every replica at every step of random histories', () => {
    let seed = 7
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const ids = ['AAAAAAAAAAAA', 'BBBBBBBBBBBB', 'CCCCCCCCCCCC']
    for (let round = 0; round < 20; round++) {
      const docs = ids.map((id) => new TextDoc(id))
      for (let step = 0; step < 30; step++) {
        const doc = docs[random(docs.length)]!
        if (doc.length > 0 && random(3) === 0) doc.localDelete(random(doc.length), 1)
        else doc.localInsert(random(doc.length + 1), 'xyz'.slice(0, 1 + random(3)))
        if (random(2) === 0) {
          const other = docs[random(docs.length)]!
          other.applyRemote(doc.changesSince(other.version()))
        }
      }
      const live = docs[0]!
      for (const other of docs.slice(1)) live.applyRemote(other.changesSince(live.version()))
      for (let steps = 0; steps <= live.historyLength(); steps++) {
        const fork = live.forkAfter(steps, 'ZZZZZZZZZZZZ')
        for (const id of ids) expect(live.seenAfter(steps, id)).toBe(fork.seenOf(id))
      }
    }
  })
})
