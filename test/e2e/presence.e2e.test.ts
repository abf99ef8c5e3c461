/**
 * Presence end to end, as issue 13 found it: three real nodes on 127.0.0.1, a Chromium each, driven
 * only through the UI. Alice starts a document; Bob joins by invite, Carol by address and Alice's
 * Accept, so Bob and Carol reach each other only through Alice.
 *
 * - Joining is not time away: no "While you were away" for a first sync, and a person is named.
 * - Bob and Carol see each other (people bar and cursor), and Carol forgets Bob at once when he leaves.
 * - A cursor whose text is still on its way (relayed by a slow node) stays on screen.
 * - Name labels never cover text.
 * - Bob and Carol, whose keys gave them the same default colour, are told apart; a chosen colour wins.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/main/net/device-key'
import type { KeyPair } from '../../src/main/net/secure-channel'
import { launchChromium, saveScreens } from '../support/chromium'
import {
  editorText,
  slowDisk,
  startSide,
  stopSide,
  textBeforeCaret,
  typeAtEnd,
  type Side,
} from '../support/e2e'

/** Saves the page in light, dark and 800×600 (test/support/chromium.ts). */
const shot = (page: Page, name: string): Promise<void> => saveScreens(page, `presence-${name}`)

/** Two device keys that the old rule (first key byte mod 10) gave the same default colour. */
function sameOldDefaultColour(): [KeyPair, KeyPair] {
  const first = generateKeyPair()
  const slot = (k: KeyPair): number => k.publicKey[0]! % 10
  for (;;) {
    const second = generateKeyPair()
    if (slot(second) === slot(first)) return [first, second]
  }
}

const caretOf = (name: string): string => `.cm-remote-caret[aria-label="${name}'s cursor"]`

const person = (page: Page, side: Side): ReturnType<Page['locator']> =>
  page.locator(`[data-testid=person][data-device="${side.node.workspace.self}"]`)

/** The colour of a person's dot in the people bar. */
const chipColour = (page: Page, side: Side): Promise<string> =>
  person(page, side)
    .locator('.dot')
    .evaluate((el) => getComputedStyle(el).backgroundColor)

/** Lets the page finish what the last event started (React commits, CodeMirror updates). */
const settle = (page: Page): Promise<void> =>
  page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0))))

/** Waits (outside a test, where expect.poll is not available) until the editor shows `text`. */
async function textShown(page: Page, text: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  const shown = async (): Promise<string | null> =>
    (await page.locator('.live .cm-content').count()) > 0 ? editorText(page) : null
  while ((await shown()) !== text) {
    if (Date.now() > end) {
      await shot(page, 'timeout')
      throw new Error(`the editor never showed ${JSON.stringify(text)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Puts the caret at the end of line `n` (1-based) by keyboard. */
async function caretToEndOfLine(page: Page, n: number): Promise<void> {
  await page.locator('.live .cm-content').click()
  await page.keyboard.press('Control+Home')
  for (let i = 1; i < n; i++) await page.keyboard.press('ArrowDown')
  await page.keyboard.press('End')
}

describe('presence across the mesh, three people', () => {
  let contexts: BrowserContext[] = []
  let a: Side
  let b: Side
  let c: Side
  const aliceDisk = slowDisk()
  const TEXT = 'Alpha line one, long enough to sit above a cursor\nBeta line two here\nGamma line three'

  beforeAll(async () => {
    const [bobKey, carolKey] = sameOldDefaultColour()
    contexts = await Promise.all([launchChromium(), launchChromium(), launchChromium()])
    ;[a, b, c] = await Promise.all([
      startSide(contexts[0]!, 'alice', { storageFs: aliceDisk.fs }),
      startSide(contexts[1]!, 'bob', { keyPair: bobKey }),
      startSide(contexts[2]!, 'carol', { keyPair: carolKey }),
    ])
    await join()
  })

  afterAll(async () => {
    for (const context of contexts) await context.close()
    for (const side of [a, b, c]) await stopSide(side)
  })

  /** What each joiner's window showed of "while you were away" once the document was there. */
  const awayOnJoin: Record<string, { banner: number; marks: number }> = {}

  const recordAway = async (side: Side, name: string): Promise<void> => {
    await textShown(side.page, TEXT)
    await settle(side.page)
    awayOnJoin[name] = {
      banner: await side.page.getByTestId('away').count(),
      marks: await side.page.locator('.cm-away').count(),
    }
  }

  /** Alice starts the document; Bob joins by invite, Carol by address and Alice's Accept (the UI only). */
  async function join(): Promise<void> {
    await a.page.getByTestId('start-new').click()
    await typeAtEnd(a.page, TEXT)
    await a.page.getByTestId('tab-share').click()
    await a.page.getByTestId('share-lan').check()
    await a.page.getByTestId('create-invite').click()
    const code = await a.page.getByTestId('invite-link').inputValue()

    await b.page.getByTestId('tab-nearby').click()
    await b.page.getByTestId('invite-input').fill(code)
    await b.page.getByTestId('invite-join').click()
    await recordAway(b, 'bob')
    await shot(b.page, '4-joined-by-invite')

    await c.page.getByTestId('tab-nearby').click()
    await c.page.getByTestId('add-address').fill(`127.0.0.1:${a.node.port}`)
    await c.page.getByTestId('add-peer').click()
    await c.page.getByTestId('nearby-panel').getByTestId('join-doc').click({ timeout: 15_000 })
    const request = a.page.getByTestId('join-request')
    await request.getByTestId('join-role').selectOption('editor', { timeout: 15_000 })
    await request.getByTestId('join-accept').click()
    await recordAway(c, 'carol')
    await shot(c.page, '4-joined-by-request')
    await a.page.getByTestId('tab-share').click()
    await b.page.getByTestId('tab-nearby').click()
    await c.page.getByTestId('tab-nearby').click()
  }

  it('4. joining by invite or by request is not time away', () => {
    expect(awayOnJoin).toEqual({ bob: { banner: 0, marks: 0 }, carol: { banner: 0, marks: 0 } })
  })

  it('3. people joined through someone else see each other, and one who leaves goes at once', async () => {
    expect(b.node.workspace.session(c.node.workspace.self)).toBeUndefined() // only through Alice
    await expect.poll(() => person(c.page, b).count(), { timeout: 10_000 }).toBe(1)
    await expect.poll(() => person(c.page, a).count()).toBe(1)
    await expect.poll(() => person(b.page, c).count()).toBe(1)
    // Bob's cursor, in Carol's window, where he put it.
    await caretToEndOfLine(b.page, 2)
    await expect.poll(() => textBeforeCaret(c.page, 'bob')).toBe('Beta line two here')
    await shot(c.page, '3-bob-seen-by-carol')
    // Bob goes offline: Carol's bar drops him well before any timeout would.
    await b.page.getByTestId('tab-settings').click()
    await b.page.getByTestId('settings-offline').check()
    const gone = Date.now()
    await expect.poll(() => person(c.page, b).count(), { timeout: 3000 }).toBe(0)
    expect(Date.now() - gone).toBeLessThan(3000)
    expect(await c.page.locator(caretOf('bob')).count()).toBe(0)
    await b.page.getByTestId('settings-offline').uncheck()
    await expect.poll(() => person(c.page, b).count(), { timeout: 10_000 }).toBe(1)
    await b.page.getByTestId('tab-settings').click()
  })

  it('2. a cursor that arrives before its text stays on screen until the text comes', async () => {
    await caretToEndOfLine(b.page, 3)
    await expect.poll(() => textBeforeCaret(c.page, 'bob')).toBe('Gamma line three')
    // Watch Carol's editor: once Bob's caret is shown, it must never be missing after a change.
    await c.page.evaluate((selector) => {
      const w = window as unknown as { caretMissing: number }
      w.caretMissing = 0
      const content = document.querySelector('.live .cm-content')!
      new MutationObserver(() => {
        if (!document.querySelector(selector)) w.caretMissing++
      }).observe(content, { subtree: true, childList: true, characterData: true })
    }, caretOf('bob'))
    // Alice's disk turns slow: she relays Bob's presence at once, his text only once it is on her disk.
    aliceDisk.delay.ms = 400
    try {
      await b.page.keyboard.type(' and more', { delay: 120 })
      await expect.poll(() => editorText(c.page), { timeout: 15_000 }).toBe(TEXT + ' and more')
      await expect
        .poll(() => textBeforeCaret(c.page, 'bob'), { timeout: 5000 })
        .toBe('Gamma line three and more')
    } finally {
      aliceDisk.delay.ms = 0
    }
    expect(await c.page.evaluate(() => (window as unknown as { caretMissing: number }).caretMissing)).toBe(0)
    await shot(c.page, '2-cursor-kept')
  })

  it('7. name labels on cursors never cover text, on line 1 or below it', async () => {
    /** Areas where a visible name label overlaps a glyph of the editor's text. */
    const overlaps = (page: Page): Promise<{ labels: number; covered: string[] }> =>
      page.evaluate(() => {
        const content = document.querySelector('.live .cm-content')!
        const glyphs: DOMRect[] = []
        const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT)
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const text = n.textContent ?? ''
          for (let i = 0; i < text.length; i++) {
            if (text[i] === ' ') continue
            const range = document.createRange()
            range.setStart(n, i)
            range.setEnd(n, i + 1)
            glyphs.push(range.getBoundingClientRect())
          }
        }
        const labels = Array.from(document.querySelectorAll('.live .cm-remote-name')).filter((el) => {
          const r = el.getBoundingClientRect()
          const style = getComputedStyle(el)
          return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.opacity !== '0'
        })
        const covered: string[] = []
        for (const label of labels) {
          // The label's own box, and what CSS draws into it (the name is drawn from an attribute).
          const r = label.getBoundingClientRect()
          for (const g of glyphs) {
            const w = Math.min(r.right, g.right) - Math.max(r.left, g.left)
            const h = Math.min(r.bottom, g.bottom) - Math.max(r.top, g.top)
            if (w > 0.5 && h > 0.5) covered.push(`${label.getAttribute('data-name')} over (${g.x},${g.y})`)
          }
        }
        return { labels: labels.length, covered }
      })
    // Bob's cursor in the middle of line 2, under line 1's text; then on line 1, over line 2's.
    await b.page.locator('.live .cm-content').click()
    await b.page.keyboard.press('Control+Home')
    await b.page.keyboard.press('ArrowDown')
    for (let i = 0; i < 5; i++) await b.page.keyboard.press('ArrowRight')
    await expect.poll(() => textBeforeCaret(a.page, 'bob')).toBe('Beta ')
    await expect.poll(async () => (await overlaps(a.page)).labels).toBeGreaterThan(0)
    expect((await overlaps(a.page)).covered).toEqual([])
    await shot(a.page, '7-label-line-2')
    await b.page.keyboard.press('ArrowUp')
    await expect.poll(() => textBeforeCaret(a.page, 'bob')).toBe('Alpha')
    await settle(a.page)
    expect((await overlaps(a.page)).covered).toEqual([])
    // Bob's badge is beside his caret's line, and names him in full on hover.
    const label = a.page.locator('.live .cm-remote-name[data-name="bob"]')
    expect(await label.getAttribute('title')).toContain('bob')
    const [badge, caret] = [await label.boundingBox(), await a.page.locator(caretOf('bob')).boundingBox()]
    expect(badge!.y + badge!.height / 2).toBeGreaterThan(caret!.y)
    expect(badge!.y + badge!.height / 2).toBeLessThan(caret!.y + caret!.height)
    await shot(a.page, '7-label-line-1')
  })

  it('8. two people whose keys share a default colour are told apart, and a chosen colour wins', async () => {
    // Alice sees Bob and Carol in different colours, in the people bar and on their carets.
    await caretToEndOfLine(c.page, 3)
    const line3 = (await editorText(a.page)).split('\n')[2]
    await expect.poll(() => textBeforeCaret(a.page, 'carol')).toBe(line3)
    await expect.poll(async () => (await chipColour(a.page, b)) !== (await chipColour(a.page, c))).toBe(true)
    const caretColour = (name: string): Promise<string> =>
      a.page.locator(caretOf(name)).evaluate((el) => getComputedStyle(el).borderLeftColor)
    expect(await caretColour('bob')).not.toBe(await caretColour('carol'))
    expect(await caretColour('bob')).toBe(await chipColour(a.page, b))
    expect(await caretColour('carol')).toBe(await chipColour(a.page, c))
    await shot(a.page, '8-distinct-colours')

    // The swatches are announced by their colours' names.
    await b.page.getByTestId('tab-settings').click()
    await b.page.getByTestId('settings-color').first().waitFor() // once the panel has the settings
    const names = await b.page
      .getByTestId('settings-color')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))
    expect(names.length).toBeGreaterThan(5)
    for (const name of names) expect(name).toMatch(/^[A-Z][a-z]+$/)
    // Bob and Carol both pick the same colour on purpose: then they share it.
    await c.page.getByTestId('tab-settings').click()
    const teal = (page: Page): ReturnType<Page['locator']> =>
      page.locator('[data-testid=settings-color][aria-label="Teal"]')
    await teal(b.page).click()
    await teal(c.page).click()
    await expect
      .poll(async () => [await chipColour(a.page, b), await chipColour(a.page, c)])
      .toEqual(['rgb(18, 165, 148)', 'rgb(18, 165, 148)'])
    await shot(b.page, '8-settings-swatches')
    await b.page.getByTestId('tab-settings').click()
    await c.page.getByTestId('tab-settings').click()
  })

  it('4. time away that is real names who changed what', async () => {
    await c.page.getByTestId('tab-settings').click()
    await c.page.getByTestId('settings-offline').check()
    await typeAtEnd(b.page, ' (bob while carol was away)')
    await expect
      .poll(() => a.node.workspace.doc(a.node.workspace.openDocs()[0]!.docId)!.text)
      .toContain('was away')
    await c.page.getByTestId('settings-offline').uncheck()
    const away = c.page.getByTestId('away')
    await away.waitFor({ state: 'visible', timeout: 15_000 })
    await expect.poll(() => away.innerText()).toContain('bob changed 1 place')
    expect(await away.innerText()).not.toContain('Someone')
    await shot(c.page, '4-away-named')
  })

  it('ran without page errors', () => {
    expect(a.errors).toEqual([])
    expect(b.errors).toEqual([])
    expect(c.errors).toEqual([])
  })
})
