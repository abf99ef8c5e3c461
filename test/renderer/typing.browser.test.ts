/**
 * A typed character's ops leave first, and the editor draws it after (typing.ts): in Chromium, with
 * real key events, the keystroke is pushed while the editor does not show it yet, is drawn by the next
 * animation frame with no further input, and nothing that reads or changes the editor in between
 * (a peer's batch, a dispatch, the next key, a click) sees the editor and its replica disagree.
 */
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium'
import { bundlePage } from '../support/page-bundle'
import type { TypingPage } from './typing-page'

describe('typing: ops first, the character drawn after', () => {
  let context: BrowserContext | undefined
  let page: Page
  const pageErrors: string[] = []
  const bundle = bundlePage(join(import.meta.dirname, 'typing-page.ts'))

  /** Calls `name` in the page (typing-page.ts) with `args`; resolves with what it returns. */
  const inPage = <K extends keyof TypingPage>(
    name: K,
    ...args: Parameters<TypingPage[K]>
  ): Promise<Awaited<ReturnType<TypingPage[K]>>> =>
    page.evaluate(
      ([n, a]) => {
        const typing = (window as unknown as { typing: Record<string, (...x: unknown[]) => unknown> }).typing
        return typing[n as string]!(...(a as unknown[]))
      },
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<TypingPage[K]>>>

  beforeEach(async () => {
    context ??= await launchChromium()
    page = await context.newPage()
    pageErrors.length = 0
    page.on('pageerror', (err) => pageErrors.push(err.message))
    // A draw that failed is logged, not thrown (drawTyped): it fails the test all the same (afterEach).
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text())
    })
    await page.setContent('<!doctype html><meta charset="utf-8"><body></body>')
    await page.addScriptTag({ content: bundle })
    await page.locator('.cm-content').click()
  })

  afterEach(() => {
    expect(pageErrors).toEqual([])
  })

  afterAll(async () => {
    await context?.close()
  })

  it('ends the keystroke’s task with its ops sent and the character not drawn, then draws it by the next frame', async () => {
    await page.keyboard.down('a') // no key up: nothing but the frame draws it
    const pushed = await inPage('state')
    expect(pushed.replica).toBe('a')
    expect(pushed.peer).toBe('a')
    expect(pushed.shownWhenPushed).toEqual([false])
    // The editor's update is not in the task that sent the ops (the frame leaves when the task ends).
    expect(pushed.shownAfterInput).toEqual([false])
    const drawn = await inPage('afterFrames', 2)
    expect(drawn.view).toBe('a')
    await page.keyboard.up('a')
  })

  it('draws it in the next task in a hidden window, where no frame comes', async () => {
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
      window.requestAnimationFrame = () => 0 // a hidden window's frames do not come
    })
    await page.keyboard.down('h') // no key up: nothing but the next task draws it
    const later = await page.evaluate(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      return (
        window as unknown as { typing: { state: () => { view: string; shownAfterInput: boolean[] } } }
      ).typing.state()
    })
    expect(later.shownAfterInput).toEqual([false])
    expect(later.view).toBe('h')
    await page.keyboard.up('h')
  })

  it('moves the cursor in the frame that draws the character', async () => {
    await page.keyboard.type('cursor')
    await inPage('afterFrames', 2)
    for (const key of ['x', 'y', 'z']) {
      // Asked for at once: its frame callback runs after the draw's and CodeMirror's measure.
      const [, at] = await Promise.all([page.keyboard.down(key), inPage('cursorInNextFrame')])
      await page.keyboard.up(key)
      // Measured with the character (within a pixel of its end), not where it was a frame before.
      expect(Math.abs(at.cursor - at.head)).toBeLessThan(1.5)
    }
    const final = await inPage('afterFrames', 2)
    expect(final.view).toBe('cursorxyz')
  })

  it('draws a waiting keystroke before a peer’s batch lands, so the batch lands where the replica says', async () => {
    await page.keyboard.type('helo')
    await inPage('afterFrames', 2)
    await page.keyboard.press('ArrowLeft')
    await page.keyboard.down('l') // waiting to be drawn
    const after = await inPage('peerTypes', 0, '> ')
    expect(after.view).toBe('> hello')
    expect(after.replica).toBe('> hello')
    expect(after.peer).toBe('> hello')
    await page.keyboard.up('l')
  })

  it('draws a waiting keystroke before any other dispatch, and the next one goes after it', async () => {
    await page.keyboard.down('x')
    const after = await inPage('reconfigure')
    expect(after.view).toBe('x')
    expect(after.replica).toBe('x')
    await page.keyboard.up('x')
    await page.keyboard.type('y')
    const final = await inPage('afterFrames', 2)
    expect(final.view).toBe('xy')
    expect(final.replica).toBe('xy')
    expect(final.peer).toBe('xy')
  })

  it('keeps the editor and its replica equal through fast typing, clicks, deletions and a peer’s edits', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '
    await page.keyboard.type(text) // no delay: keys come faster than frames, each drawn at its key up
    await inPage('peerTypes', 0, '[peer] ')
    await page.keyboard.type('Again: ')
    await page.locator('.cm-content').click({ position: { x: 5, y: 5 } }) // a click moves the cursor home
    await page.keyboard.type('^')
    await page.keyboard.press('Backspace')
    await page.keyboard.type('!')
    const final = await inPage('afterFrames', 2)
    const expected = `![peer] ${text}Again: `
    expect(final.view).toBe(expected)
    expect(final.replica).toBe(expected)
    expect(final.peer).toBe(expected)
    // Every plain keystroke was pushed before the editor drew it.
    expect(final.shownWhenPushed.filter((shown) => !shown).length).toBeGreaterThanOrEqual(text.length)
  })
})
