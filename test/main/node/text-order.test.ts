/**
 * TextOrder (src/main/node/text-order.ts): the digest of a text's order that sync requests carry, and
 * when a node rebuilds in canonical order: only at an equal text version with a different digest, at
 * most once per state and per interval. Over real sockets: test/integration/edit-provenance.test.ts
 * no. 8, and the Byzantine property test.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import {
  decodeMessage,
  encodeMessage,
  ProtocolError,
  TEXT_ORDER_BYTES,
} from '../../../src/shared/sync/messages'
import { TextOrder } from '../../../src/main/node/text-order'
import { orderDependent } from '../../support/order-dependent'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function docOf(batches: readonly Uint8Array[]): TextDoc {
  const doc = new TextDoc('node')
  for (const batch of batches) doc.applyRemote(batch)
  return doc
}

/** A TextOrder over `doc` whose rebuilds go to `doc.canonical()` and are counted. */
function orderOver(first: TextDoc, intervalMs = 10_000) {
  let doc = first
  const log: string[] = []
  let resyncs = 0
  const order = new TextOrder({
    text: () => doc,
    rebuild: () => {
      doc = doc.canonical()
      return Promise.resolve(true)
    },
    resync: () => resyncs++,
    log: (line) => log.push(line),
    intervalMs,
  })
  return {
    order,
    text: () => doc,
    rebuilds: () => log.filter((l) => /rebuilt in canonical order/.test(l)).length,
    resyncs: () => resyncs,
  }
}

describe('TextOrder', () => {
  it('the digest: the same for one sequence however it was cut, another for another sequence', () => {
    const { inOrder, reordered } = orderDependent()
    const one = docOf(inOrder)
    const other = docOf(reordered)
    expect(one.version()).toEqual(other.version())
    expect(one.toString()).not.toBe(other.toString())
    const digest = (doc: TextDoc): Uint8Array => orderOver(doc).order.digest()
    expect(digest(one)).toHaveLength(TEXT_ORDER_BYTES)
    expect(digest(one)).not.toEqual(digest(other))
    // A long run that arrived in pieces (its spans cut differently) has the digest of the whole one.
    const author = new TextDoc('author')
    author.localInsert(0, 'hello world')
    const whole = docOf([author.changesSince({})])
    const pieces = new TextDoc('pieces')
    const partial = new TextDoc('author')
    partial.localInsert(0, 'hello')
    pieces.applyRemote(partial.changesSince({}))
    pieces.applyRemote(author.changesSince({}))
    expect(digest(pieces)).toEqual(digest(whole))
  })

  it('rebuilds at an equal version with a different digest, once, then asks peers to compare again', async () => {
    const { inOrder, reordered } = orderDependent()
    const here = orderOver(docOf(inOrder))
    const there = orderOver(docOf(reordered))
    // A peer that is behind, or the same digest: nothing to do.
    here.order.compare({ a: 1 }, there.order.digest(), 'peer behind')
    here.order.compare(here.text().version(), here.order.digest(), 'peer in step')
    await sleep(20)
    expect(here.rebuilds()).toBe(0)

    here.order.compare(there.text().version(), there.order.digest(), 'peer t')
    await sleep(20)
    expect(here.rebuilds()).toBe(1)
    expect(here.resyncs()).toBe(1)
    // In canonical order now: the same digest again (or a made-up one) rebuilds nothing more.
    here.order.compare(there.text().version(), there.order.digest(), 'peer t')
    here.order.compare(there.text().version(), new Uint8Array(TEXT_ORDER_BYTES).fill(9), 'liar')
    await sleep(20)
    expect(here.rebuilds()).toBe(1)
    // The canonical sequence, which the other order happened to give already: the peer, comparing
    // with the rebuilt digest, finds them equal and has nothing to do.
    expect(here.text().toString()).toBe(docOf(inOrder).canonical().toString())
    expect(here.text().toString()).not.toBe(docOf(inOrder).toString())
    there.order.compare(here.text().version(), here.order.digest(), 'peer h')
    await sleep(20)
    expect(there.rebuilds()).toBe(0)
    expect(there.order.digest()).toEqual(here.order.digest())
  })

  it('a later difference waits out the interval since the last rebuild', async () => {
    const { inOrder, reordered } = orderDependent()
    const here = orderOver(docOf(inOrder), 150)
    const made = new Uint8Array(TEXT_ORDER_BYTES).fill(1)
    here.order.compare(here.text().version(), made, 'liar')
    await sleep(20)
    expect(here.rebuilds()).toBe(1)
    // The text changes (a new op), and a peer claims again that it differs.
    here.text().applyRemote(reordered[0]!) // a duplicate: no change, still canonical
    here.order.compare(here.text().version(), made, 'liar')
    await sleep(20)
    expect(here.rebuilds()).toBe(1)
    here.text().localInsert(0, 'new')
    here.order.compare(here.text().version(), made, 'liar')
    await sleep(40)
    expect(here.rebuilds()).toBe(1) // within the interval
    await sleep(200)
    expect(here.rebuilds()).toBe(2)
  })
})

describe('sync-request: the order digest on the wire', () => {
  const versions = [{ r: 3 }, {}, {}, {}] as const
  it('round-trips with and without a digest', () => {
    const order = new Uint8Array(TEXT_ORDER_BYTES).fill(5)
    for (const m of [
      { type: 'sync-request', docId: 'ab'.repeat(16), versions },
      { type: 'sync-request', docId: 'ab'.repeat(16), versions, order },
    ] as const) {
      expect(decodeMessage(encodeMessage(m))).toEqual(m)
    }
  })

  it('a digest of another length is malformed', () => {
    const bad = encodeMessage({
      type: 'sync-request',
      docId: 'ab'.repeat(16),
      versions,
      order: new Uint8Array(TEXT_ORDER_BYTES - 1),
    })
    expect(() => decodeMessage(bad)).toThrow(ProtocolError)
  })
})
