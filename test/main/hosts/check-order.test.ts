/**
 * The `checkOrder` request (src/main/hosts/check-order.ts) on a real node: a window stand-in (a TextDoc
 * replica, as a window holds one) that holds the node's ops in another order hears 'differs', and opening
 * the document again mends it; the same order is 'same'; another version is 'unknown'; anything malformed
 * is a BAD_REQUEST, never a throw.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiResult, OpenedDoc } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { orderBytes } from '../../../src/shared/crdt/order-digest'
import { MAX_REPLICAS } from '../../../src/shared/crdt/replicas'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { PeerNode } from '../../../src/main/node/peer-node'
import { orderDependent } from '../../support/order-dependent'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

/** What a window sends: its replica's version and the SHA-256 of its order. */
const question = (doc: TextDoc): [Record<string, number>, Uint8Array] => [
  doc.version(),
  new Uint8Array(createHash('sha256').update(orderBytes(doc)).digest()),
]

/** A window's replica of `opened`, with `batches` from elsewhere applied after its state. */
function windowOf(opened: OpenedDoc, batches: readonly Uint8Array[] = []): TextDoc {
  const doc = new TextDoc(opened.replica)
  doc.applyRemote(opened.state)
  for (const batch of batches) doc.applyRemote(batch)
  return doc
}

describe('checkOrder', () => {
  let node: PeerNode
  let service: AppService
  let win: AppClient
  let docId: string
  let ops: { inOrder: Uint8Array[]; reordered: Uint8Array[] }
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-order-'))

  beforeAll(async () => {
    const dataDir = join(dir, 'data')
    node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    service = new AppService({ node, host: 'browser', version: 'test', dataDir })
    win = service.connect(() => undefined)
    docId = value(await win.newDocument('order')).docId
    // Four of this device's replicas (the node takes edits only from its own), named in the order
    // the crafted ops' replicas sort in, so that the two orders of arrival give two texts here too.
    const session = node.workspace.doc(docId)!
    const names = [0, 1, 2, 3].map(() => session.mintReplica()).sort()
    ops = orderDependent([names[0]!, names[1]!, names[2]!, names[3]!])
    // The node takes them in one order (as a window's pushes, one batch at a time).
    for (const batch of ops.inOrder) value(await win.pushOps(docId, batch))
  })

  afterAll(async () => {
    service.close()
    await node.close()
  })

  it("is 'differs' for the node's ops in another order, and opening the document again mends it", async () => {
    const empty = value(await win.openDocument(docId))
    const mine = new TextDoc(empty.replica)
    for (const batch of ops.reordered) mine.applyRemote(batch)
    const nodeText = node.workspace.doc(docId)!.text
    expect(mine.version()).toEqual(node.workspace.doc(docId)!.textVersion())
    expect(mine.toString()).not.toBe(nodeText)
    expect(value(await win.checkOrder(docId, ...question(mine)))).toBe('differs')

    // What the window does on 'differs': it opens the document again, and holds the node's order.
    const again = windowOf(value(await win.openDocument(docId)))
    expect(again.toString()).toBe(nodeText)
    expect(value(await win.checkOrder(docId, ...question(again)))).toBe('same')
  })

  it("is 'same' for the node's ops in the node's order", async () => {
    const empty = value(await win.openDocument(docId))
    const mine = new TextDoc(empty.replica)
    for (const batch of ops.inOrder) mine.applyRemote(batch)
    expect(value(await win.checkOrder(docId, ...question(mine)))).toBe('same')
  })

  it("is 'unknown' at another version: behind the node, or ahead of it", async () => {
    const opened = value(await win.openDocument(docId))
    const behind = new TextDoc(opened.replica)
    for (const batch of ops.inOrder.slice(0, -1)) behind.applyRemote(batch)
    expect(value(await win.checkOrder(docId, ...question(behind)))).toBe('unknown')
    const ahead = windowOf(opened)
    ahead.localInsert(0, 'not pushed yet')
    expect(value(await win.checkOrder(docId, ...question(ahead)))).toBe('unknown')
    // A zero counter is no counter: the version is the node's still.
    const [version, digest] = question(windowOf(opened))
    expect(value(await win.checkOrder(docId, { ...version, [opened.replica]: 0 }, digest))).toBe('same')
    // A replica ID the node does not know, even one named like a property of every object.
    const parsed = JSON.parse(`{"__proto__": 1, ${JSON.stringify(version).slice(1)}`) as Record<
      string,
      number
    >
    expect(Object.keys(parsed)).toContain('__proto__')
    expect(value(await win.checkOrder(docId, parsed, digest))).toBe('unknown')
  })

  it('refuses malformed requests as BAD_REQUEST', async () => {
    const [version, digest] = question(windowOf(value(await win.openDocument(docId))))
    const huge: Record<string, number> = {}
    for (let i = 0; i <= MAX_REPLICAS; i++) huge[`r${i}`] = 1
    const badDigests: unknown[] = [
      new Uint8Array(31),
      new Uint8Array(33),
      [...digest],
      digest.buffer,
      'ab'.repeat(32),
      null,
      undefined,
    ]
    const badVersions: unknown[] = [
      null,
      undefined,
      7,
      'version',
      [1, 2],
      new Map([['a', 1]]),
      new (class Version {
        a = 1
      })(),
      { '': 1 },
      { ['r'.repeat(65)]: 1 },
      { a: -1 },
      { a: 1.5 },
      { a: Number.NaN },
      { a: 2 ** 53 },
      { a: '3' },
      { a: null },
      huge,
    ]
    const call = (v: unknown, d: unknown): ReturnType<AppClient['checkOrder']> =>
      (win.checkOrder as (...args: unknown[]) => ReturnType<AppClient['checkOrder']>)(docId, v, d)
    for (const d of badDigests)
      expect(await call(version, d)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    for (const v of badVersions)
      expect(await call(v, digest)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await win.checkOrder('nope', version, digest)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await win.checkOrder('0'.repeat(32), version, digest)).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    })
    // The largest version allowed is read (and is simply another version).
    delete huge['r0']
    expect(value(await call(huge, digest))).toBe('unknown')
  })
})
