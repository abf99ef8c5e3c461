import { describe, expect, it } from 'vitest'
import { nodesSplit, type SocketStamp } from '../../bench/windows-split'

// Alice's node serves her page on 5001 and talks to Bob's on 7001 (his end: 7002); Bob's page is on 6001.
const HTTP: [number, number] = [5001, 6001]
const aliceReads = (t: number): SocketStamp => [t, 'r', 5001, 40001]
const aliceSends = (t: number): SocketStamp => [t, 'w', 7001, 7002]
const bobReads = (t: number): SocketStamp => [t, 'r', 7002, 7001]
const bobShows = (t: number): SocketStamp => [t, 'w', 6001, 40002]

describe('windows bench: where the time between two pages goes', () => {
  it('splits each key into both nodes and the sockets, each node on its own clock', () => {
    // Key 1 leaves Alice's page at 100 and reaches Bob's at 103; key 2 at 140 and 144.
    const keys = { sentAt: [100, 140], arrivedAt: [103, 144], nodes: [3, 4] }
    const alice = [aliceReads(100.3), [100.5, 'w', 5001, 40001] as SocketStamp, aliceSends(101.1)]
    alice.push(aliceReads(140.2), aliceSends(141.2))
    // Bob's clock runs 0.2 ms behind: a stamp may come just "before" the one that caused it.
    const bob = [bobReads(101.0), bobShows(101.4), bobReads(141.4), [141.5, 'w', 7002, 7001] as SocketStamp]
    bob.push(bobShows(142.4))
    const split = nodesSplit(keys, HTTP, [alice, bob], 40)
    // Alice's reply to her own page (a write on 5001) is not the keystroke leaving for Bob.
    expect(split.alice.map((x) => +x.toFixed(3))).toEqual([0.8, 1])
    // Bob's write back to Alice (on 7002) is not the keystroke reaching his page.
    expect(split.bob.map((x) => +x.toFixed(3))).toEqual([0.4, 1])
    expect(split.sockets.map((x) => +x.toFixed(3))).toEqual([1.8, 2])
  })

  it('leaves out a key whose stamps are not all there, or that shows after its frame arrived', () => {
    const keys = { sentAt: [100, 140, 180], arrivedAt: [103, 144, 182], nodes: [3, 4, 2] }
    const alice = [
      aliceReads(100.1),
      aliceSends(100.6),
      aliceReads(140.1),
      aliceReads(180.1),
      aliceSends(180.5),
    ]
    // Key 2 never left Alice's node; key 3 reached Bob's page only after his frame (another key's).
    const bob = [bobReads(100.8), bobShows(101.2), bobReads(180.7), bobShows(183.5)]
    const split = nodesSplit(keys, HTTP, [alice, bob], 40)
    expect(split.alice).toHaveLength(1)
    expect(split.bob.map((x) => +x.toFixed(3))).toEqual([0.4])
  })
})
