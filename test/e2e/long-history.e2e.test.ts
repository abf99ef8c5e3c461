/**
 * A document with a long history opens in a window from its snapshot (issue 14: opening costs in
 * proportion to the document, not to everything ever typed; src/shared/crdt/window-state.ts), through
 * the UI of a real node in browser mode and Chromium: the text shows, typing reaches the node, and the
 * History panel reads the history in the window, which has no brotli. Run `npm run build` first (npm
 * test does).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerNode } from '../../src/main/node/peer-node'
import { launchChromium, saveScreens } from '../support/chromium'
import { churn } from '../support/churn'
import { editorText, openPanel, startSide, stopSide, typeAtEnd, type Side } from '../support/e2e'

/** A document of 40,000 edits at random places, half of them deletes of a few characters, on a node since closed. */
async function agedDocument(dataDir: string): Promise<{ docId: string; text: string }> {
  const node = await PeerNode.start({ dataDir, name: 'alice', host: '127.0.0.1' })
  const doc = await node.workspace.createDoc('Long history')
  await doc.insert(0, 'Kept.\n')
  await churn(doc, 40_000, 41)
  const made = { docId: doc.docId, text: doc.text }
  await node.close()
  return made
}

describe('a document with a long history, in a window', () => {
  let context: BrowserContext
  let side: Side
  let made: { docId: string; text: string }

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshpad-e2e-long-'))
    made = await agedDocument(dataDir)
    context = await launchChromium()
    side = await startSide(context, 'alice', { dataDir })
  }, 60_000)

  afterAll(async () => {
    await context.close()
    await stopSide(side)
  })

  it('opens from its snapshot, edits, and shows its history', async () => {
    const { page } = side
    await page.getByTestId('target').fill(made.docId)
    await page.getByTestId('open').click()
    await expect.poll(() => editorText(page)).toBe(made.text)
    await typeAtEnd(page, ' typed')
    const doc = side.node.workspace.doc(made.docId)!
    await expect.poll(() => doc.text).toBe(`${made.text} typed`)
    expect(doc.durable.text.historyEncoded()).toBe(true) // the node sent the snapshot, not every op
    await openPanel(page, 'history')
    // Version n of n (now), n the groups of 40,000 edits: read in the window, from chunks with no brotli.
    await expect
      .poll(async () =>
        Number(/of (\d+)/.exec(await page.getByTestId('history-version').innerText())?.[1] ?? 0),
      )
      .toBeGreaterThan(0)
    await saveScreens(page, 'long-history')
    expect(side.errors).toEqual([])
  })
})
