/**
 * The window's order check (src/renderer/src/binding/order-check.ts) with real TextDocs: the node is
 * stood in by a TextDoc of its own answering as AppService does (src/main/hosts/check-order.ts, its
 * digest from the node's TextOrder), so the window's WebCrypto digest must be the node's node:crypto one
 * for any answer to be 'same'. Timers are faked (setTimeout only); WebCrypto runs for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ApiResult, TextOrderAnswer } from '../../src/shared/api'
import { TextDoc, type VersionVector } from '../../src/shared/crdt'
import { answerOrderQuestion, readOrderQuestion } from '../../src/main/hosts/check-order'
import {
  OrderCheck,
  orderDigest,
  QUIET_MS,
  type OrderCheckDeps,
} from '../../src/renderer/src/binding/order-check'
import { nodeOrderDigest, orderDependent } from '../support/order-dependent'

function docOf(replica: string, batches: readonly Uint8Array[]): TextDoc {
  const doc = new TextDoc(replica)
  for (const batch of batches) doc.applyRemote(batch)
  return doc
}

/** A node holding `batches` in that order, answering `checkOrder` as AppService does. */
function nodeHolding(batches: readonly Uint8Array[]) {
  const doc = docOf('node', batches)
  const asked: TextOrderAnswer[] = []
  const ask = (version: VersionVector, digest: Uint8Array): Promise<ApiResult<TextOrderAnswer>> => {
    const answer = answerOrderQuestion(
      { textVersion: () => doc.version(), textOrder: () => nodeOrderDigest(doc) },
      readOrderQuestion(version, digest),
    )
    asked.push(answer)
    return Promise.resolve({ ok: true, value: answer })
  }
  return { doc, ask, asked }
}

/** A window's order check of `replica`, asking `node`, counting the reopens it asks for. */
function windowOf(replica: TextDoc, ask: OrderCheckDeps['ask']) {
  let reopens = 0
  const check = new OrderCheck({ replica, ask, differs: () => reopens++ })
  return { check, reopens: () => reopens }
}

/**
 * Runs the faked timers for `ms`, then lets the real work they started (WebCrypto, on Node's thread
 * pool) finish: 50 ms of real time at least, or until `asked` holds `n` answers (5 s at most).
 */
async function pass(ms: number, until?: { asked: readonly unknown[]; n: number }): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  const start = performance.now()
  const done = (): boolean =>
    until ? until.asked.length >= until.n || performance.now() - start > 5000 : performance.now() - start > 50
  while (!done()) await new Promise((resolve) => setImmediate(resolve))
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('the order digest in the window', () => {
  it("is its node's: WebCrypto over the shared encoding gives node:crypto's digest", async () => {
    const { inOrder, reordered } = orderDependent()
    const p = new TextDoc('p')
    const q = new TextDoc('qü')
    for (let i = 0; i < 6000; i++) {
      q.applyRemote(p.localInsert(p.length, 'p'))
      p.applyRemote(q.localInsert(q.length, 'q'))
    }
    for (const doc of [docOf('w', inOrder), docOf('w', reordered), p, new TextDoc('empty')]) {
      expect(await orderDigest(doc)).toEqual(nodeOrderDigest(doc))
    }
    expect(await orderDigest(docOf('w', inOrder))).not.toEqual(await orderDigest(docOf('w', reordered)))
  })
})

describe('OrderCheck', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('asks once the text has been quiet, and reopens when the node holds another order', async () => {
    const { inOrder, reordered } = orderDependent()
    const node = nodeHolding(inOrder)
    const mine = docOf('window', reordered)
    expect(mine.toString()).not.toBe(node.doc.toString())
    const win = windowOf(mine, node.ask)
    win.check.changed()
    await pass(QUIET_MS - 100)
    expect(node.asked).toEqual([])
    await pass(100, { asked: node.asked, n: 1 })
    expect(node.asked).toEqual(['differs'])
    expect(win.reopens()).toBe(1)
  })

  it("does not reopen on 'same', nor on 'unknown'", async () => {
    const { inOrder } = orderDependent()
    const node = nodeHolding(inOrder)
    const same = windowOf(docOf('window', inOrder), node.ask)
    same.check.changed()
    const behind = windowOf(docOf('window', inOrder.slice(0, -1)), node.ask)
    behind.check.changed()
    await pass(QUIET_MS, { asked: node.asked, n: 2 })
    expect(node.asked.sort()).toEqual(['same', 'unknown'])
    expect(same.reopens() + behind.reopens()).toBe(0)
  })

  it('never asks while changes go on, and asks once per text state', async () => {
    const { inOrder, reordered } = orderDependent()
    const node = nodeHolding(inOrder)
    const mine = docOf('window', [])
    const win = windowOf(mine, node.ask)
    // The node's batches come one every second (remote changes), then the person types a while.
    for (const batch of reordered) {
      mine.applyRemote(batch)
      win.check.changed()
      await pass(1000)
    }
    for (let i = 0; i < 20; i++) {
      win.check.pushing(Promise.resolve())
      await pass(QUIET_MS / 3)
    }
    expect(node.asked).toEqual([])
    // The typing was a stand-in (no ops): the text is the node's ops in another order.
    await pass(QUIET_MS, { asked: node.asked, n: 1 })
    expect(node.asked).toEqual(['differs'])
    // Nothing new since (a duplicate batch, a push of nothing): not asked again.
    mine.applyRemote(reordered[0]!)
    win.check.changed()
    win.check.pushing(Promise.resolve())
    await pass(QUIET_MS * 3)
    expect(node.asked).toEqual(['differs'])
    expect(win.reopens()).toBe(1)
    // A new state is asked about in turn ('unknown': the node lacks this op).
    mine.localInsert(0, '!')
    win.check.changed()
    await pass(QUIET_MS, { asked: node.asked, n: 2 })
    expect(node.asked).toEqual(['differs', 'unknown'])
  })

  it('waits for a push in flight, however long, and for the quiet after it', async () => {
    const { inOrder, reordered } = orderDependent()
    const node = nodeHolding(inOrder)
    const win = windowOf(docOf('window', reordered), node.ask)
    let answered = (): void => undefined
    win.check.pushing(new Promise<void>((resolve) => (answered = resolve)))
    await pass(QUIET_MS * 10)
    expect(node.asked).toEqual([])
    answered()
    await pass(QUIET_MS - 100)
    expect(node.asked).toEqual([])
    await pass(100, { asked: node.asked, n: 1 })
    expect(node.asked).toEqual(['differs'])
  })

  it('asks nothing after close, and acts on no answer that comes after it or after a change', async () => {
    const { inOrder, reordered } = orderDependent()
    const node = nodeHolding(inOrder)
    const closed = windowOf(docOf('window', reordered), node.ask)
    closed.check.changed()
    closed.check.close()
    await pass(QUIET_MS * 2)
    expect(node.asked).toEqual([])

    // The answer is held back while the window closes, or while its text changes.
    const held: (() => void)[] = []
    const slow = (version: VersionVector, digest: Uint8Array): Promise<ApiResult<TextOrderAnswer>> =>
      new Promise((resolve) => held.push(() => void node.ask(version, digest).then(resolve)))
    const leaving = windowOf(docOf('window', reordered), slow)
    leaving.check.changed()
    const mine = docOf('window', reordered)
    const typing = windowOf(mine, slow)
    typing.check.changed()
    await pass(QUIET_MS, { asked: held, n: 2 })
    expect(held).toHaveLength(2)
    leaving.check.close()
    mine.localInsert(0, '!')
    typing.check.changed()
    for (const answer of held.splice(0)) answer()
    await pass(0, { asked: node.asked, n: 2 })
    expect(node.asked).toEqual(['differs', 'differs'])
    expect(leaving.reopens() + typing.reopens()).toBe(0)
    // The changed text is asked about once quiet (and the node lacks the new op).
    await pass(QUIET_MS, { asked: held, n: 1 })
    held.splice(0).forEach((answer) => answer())
    await pass(0, { asked: node.asked, n: 3 })
    expect(node.asked).toEqual(['differs', 'differs', 'unknown'])
  })
})
