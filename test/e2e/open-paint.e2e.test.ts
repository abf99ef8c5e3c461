/**
 * Opening a document paints its text in the first frame that shows the editor (issue 14: a 10 MB file
 * editable in under 500 ms): the editor is made in the same task as the render that shows it, so no
 * frame is painted (and waited for) with the editor's place empty. Run `npm run build` first.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium'
import { editorText, startSide, stopSide, type Side } from '../support/e2e'

/**
 * Records, for every frame from now on, whether the editor's place is in the page and whether it
 * holds lines: an animation frame callback runs just before the frame is painted, with nothing
 * else run between them.
 */
const RECORD_FRAMES = `(() => {
  window.__frames = []
  const record = () => {
    const place = document.querySelector('[data-testid="editor"]')
    if (place) window.__frames.push(place.querySelector('.cm-line') ? 'text' : 'empty')
    requestAnimationFrame(record)
  }
  requestAnimationFrame(record)
})()`

describe('opening a file', () => {
  let context: BrowserContext | undefined
  let side: Side | undefined
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-e2e-open-paint-'))

  beforeAll(async () => {
    context = await launchChromium()
    side = await startSide(context, 'open-paint')
  })

  afterAll(async () => {
    await context?.close()
    await stopSide(side)
  })

  it('paints no frame with the editor’s place empty', async () => {
    const { page } = side!
    const text = 'const line = of + a * file; // to open\n'.repeat(20_000)
    const file = join(dir, 'big.txt')
    writeFileSync(file, text)
    for (let run = 0; run < 3; run++) {
      await page.evaluate(RECORD_FRAMES)
      await page.getByTestId('target').fill(file)
      await page.getByTestId('target').press('Enter')
      await expect.poll(() => editorText(page).then((t) => t.startsWith('const line'))).toBe(true)
      const frames = (await page.evaluate('window.__frames')) as string[]
      expect(frames[0]).toBe('text')
      expect(frames).not.toContain('empty')
      // Back to the start screen, for the next opening.
      await page.getByTestId('back-to-list').click()
      await page.getByTestId('start').waitFor({ state: 'visible' })
    }
    expect(side!.errors).toEqual([])
  })
})
