/**
 * A broadcast sends one update to every peer with the same batch and list of devices, so it is encoded
 * once (session.ts, `encodeUpdate`). The frame must be the message's encoding whatever came before it,
 * and a different batch, list, document or channel must never get the last one's frame.
 */
import { describe, expect, it } from 'vitest'
import { Channel, decodeMessage, encodeMessage } from '../../../src/shared/sync/messages'
import { encodeUpdate } from '../../../src/shared/sync/session'

const DOC = 'ab'.repeat(16)
const OTHER_DOC = 'cd'.repeat(16)
const tags = (n: number, seed: number): string[] =>
  Array.from({ length: n }, (_, i) =>
    ((seed * 31 + i) * 2654435761).toString(16).padStart(16, '0').slice(-16),
  )

describe('encodeUpdate', () => {
  it('gives every peer of a broadcast the same frame, and it is the message exactly', () => {
    const batch = new Uint8Array([1, 2, 3, 4])
    const list = tags(16, 1)
    const first = encodeUpdate(DOC, Channel.Text, batch, list)
    expect(encodeUpdate(DOC, Channel.Text, batch, list)).toBe(first)
    expect(first).toEqual(
      encodeMessage({ type: 'update', docId: DOC, channel: Channel.Text, batch, sentTo: list }),
    )
    expect(decodeMessage(first)).toEqual({
      type: 'update',
      docId: DOC,
      channel: Channel.Text,
      batch,
      sentTo: list,
    })
  })

  it('encodes seals sent ahead of a batch, and the batch, once each for a whole broadcast', () => {
    // Each peer gets the seals the text needs, then the text: the two frames alternate, peer by peer.
    const seals = new Uint8Array([1, 1])
    const text = new Uint8Array([2, 2, 2])
    const list = tags(16, 5)
    const frames = Array.from({ length: 15 }, () => [
      encodeUpdate(DOC, Channel.Seals, seals, list),
      encodeUpdate(DOC, Channel.Text, text, list),
    ])
    expect(new Set(frames.map(([s]) => s)).size).toBe(1)
    expect(new Set(frames.map(([, t]) => t)).size).toBe(1)
    expect(decodeMessage(frames[0]![0]!)).toMatchObject({ channel: Channel.Seals, batch: seals })
    expect(decodeMessage(frames[0]![1]!)).toMatchObject({ channel: Channel.Text, batch: text })
  })

  it('never reuses the frame for another batch, list, document or channel', () => {
    const batch = new Uint8Array([5, 6, 7])
    const list = tags(3, 2)
    const cases: [string, Channel, Uint8Array, string[]][] = [
      [DOC, Channel.Text, batch, list],
      [DOC, Channel.Text, new Uint8Array([5, 6, 7]), list], // equal bytes, another array: encoded again
      [DOC, Channel.Text, batch, [...list]],
      [DOC, Channel.Text, batch, tags(4, 3)],
      [OTHER_DOC, Channel.Text, batch, list],
      [DOC, Channel.Seals, batch, list],
      [DOC, Channel.Text, new Uint8Array([9]), list],
    ]
    for (const [docId, channel, b, sentTo] of cases) {
      const frame = encodeUpdate(docId, channel, b, sentTo)
      expect(decodeMessage(frame)).toEqual({ type: 'update', docId, channel, batch: b, sentTo })
    }
  })

  it('does not keep a large batch alive for the next update', () => {
    const big = new Uint8Array(100_000).fill(7)
    const list = tags(2, 4)
    const a = encodeUpdate(DOC, Channel.Text, big, list)
    const b = encodeUpdate(DOC, Channel.Text, big, list)
    expect(b).not.toBe(a) // encoded again: not kept
    expect(b).toEqual(a)
  })
})
