/**
 * End to end: a browser-mode window whose replica holds its node's text in another order notices it
 * once its text is quiet (`checkOrder`, src/renderer/src/binding/order-check.ts) and opens the document
 * again, and then holds the node's text. The window's socket is routed through the test, which holds
 * the node's `ops` events for a set of crafted inserts (test/support/order-dependent.ts) and hands
 * them to the page in another order: the state a window's own keystroke, integrated before a crafted
 * insert its node took first, leaves it in. Without the check the window keeps that text for good.
 * Run `npm run build` first (npm test does).
 */
import type { BrowserContext, WebSocketRoute } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiResult } from '../../src/shared/api'
import { TextDoc } from '../../src/shared/crdt'
import { decodeWire, type WireMessage, type WireRequest } from '../../src/shared/wire-json'
import type { AppClient } from '../../src/main/hosts/app-service'
import { launchChromium } from '../support/chromium'
import { editorText, startSide, stopSide, typeAtEnd, until, type Side } from '../support/e2e'
import { orderDependent } from '../support/order-dependent'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

const bytes = (message: string | Buffer): Uint8Array | null =>
  typeof message === 'string' ? null : new Uint8Array(message)

describe('a window holding its node’s text in another order', () => {
  let context: BrowserContext
  let side: Side
  let other: AppClient
  /** `checkOrder` answers the page received, in order. */
  const answers: unknown[] = []
  /** While set, `checkOrder` answers wait here (so the test sees what the page showed before one). */
  let answersHeld: (() => void)[] | null = []
  /** The node's `ops` events for these batches are held, then handed to the page in `order`. */
  const hold: { batches: Uint8Array[]; order: number[]; held: (string | Buffer)[] } = {
    batches: [],
    order: [],
    held: [],
  }

  /** Relays the page's socket, noting `checkOrder` answers and holding the chosen `ops` events. */
  const relay = (page: WebSocketRoute): void => {
    const server = page.connectToServer()
    const asked = new Set<number>()
    page.onMessage((message) => {
      const frame = bytes(message)
      const request = frame && (decodeWire(frame) as WireRequest)
      if (request?.method === 'checkOrder') asked.add(request.id)
      server.send(message)
    })
    server.onMessage((message) => {
      const frame = bytes(message)
      const wire = frame && (decodeWire(frame) as WireMessage)
      if (wire?.kind === 'reply' && asked.delete(wire.id)) {
        const result = wire.result as ApiResult<unknown>
        const answer = (): void => {
          answers.push(result.ok ? result.value : result)
          page.send(message)
        }
        return answersHeld ? void answersHeld.push(answer) : answer()
      }
      const batch = wire?.kind === 'event' && wire.event.type === 'ops' ? Buffer.from(wire.event.batch) : null
      const at = batch ? hold.batches.findIndex((b) => batch.equals(b)) : -1
      if (at < 0) return page.send(message)
      hold.held[at] = message
      if (hold.held.filter(Boolean).length < hold.batches.length) return
      for (const i of hold.order) page.send(hold.held[i]!)
    })
  }

  beforeAll(async () => {
    context = await launchChromium()
    await context.routeWebSocket(/\/ws$/, relay)
    side = await startSide(context, 'ada')
    other = side.service.connect(() => undefined)
  })

  afterAll(async () => {
    other?.close()
    await context?.close()
    await stopSide(side)
  })

  it('asks its node once quiet, opens the document again, then holds the node’s text', async () => {
    const docId = value(await other.newDocument('order')).docId
    const { page } = side
    await page.getByTestId('target').fill(docId)
    await page.getByTestId('open').click()
    await expect.poll(() => page.getByTestId('doc-id').innerText()).toBe(docId)

    // Crafted inserts under four of this device's replicas (the node takes edits only from its own),
    // named so that they sort as the crafted set's do; the node takes them in one order.
    const session = side.node.workspace.doc(docId)!
    const names = [0, 1, 2, 3].map(() => session.mintReplica()).sort()
    const { inOrder, reordered } = orderDependent([names[0]!, names[1]!, names[2]!, names[3]!])
    hold.batches = inOrder
    hold.order = reordered.map((batch) => inOrder.indexOf(batch))
    const inPageOrder = new TextDoc('w')
    for (const batch of reordered) inPageOrder.applyRemote(batch)
    for (const batch of inOrder) value(await other.pushOps(docId, batch))
    const nodeText = session.text
    expect(inPageOrder.toString()).not.toBe(nodeText)

    // The page shows the other order until it hears its node's answer; then the node's.
    await until(() => hold.held.filter(Boolean).length === inOrder.length, 'the held ops')
    await expect.poll(() => editorText(page)).toBe(inPageOrder.toString())
    await until(() => answersHeld!.length === 1, 'the check', 15_000)
    expect(await editorText(page)).toBe(inPageOrder.toString())
    const held = answersHeld!
    answersHeld = null
    held.forEach((answer) => answer())
    await expect.poll(() => editorText(page), { timeout: 15_000 }).toBe(nodeText)
    expect(answers).toEqual(['differs'])

    // The reopened window edits on: its node takes the edit, and the next check is 'same'.
    await typeAtEnd(page, '!')
    await expect.poll(() => session.text).toBe(`${nodeText}!`)
    await until(() => answers.length === 2, 'the next check', 15_000)
    expect(answers).toEqual(['differs', 'same'])
    expect(await editorText(page)).toBe(`${nodeText}!`)
    expect(side.errors).toEqual([])
  })
})
