import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { artifactPath, launchChromium } from '../support/chromium'
import { serveStatic, type StaticServer } from '../support/static-server'

const rendererDir = join(process.cwd(), 'out/renderer')

describe('renderer in Chromium', () => {
  let server: StaticServer
  let context: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    if (!existsSync(join(rendererDir, 'index.html'))) {
      throw new Error('out/renderer is missing: run `npm run build` first (npm test does).')
    }
    server = await serveStatic(rendererDir)
    context = await launchChromium()
    page = await context.newPage()
    page.on('pageerror', (err) => pageErrors.push(err.message))
    page.on('console', (msg) => {
      // A CSP violation is reported on the console; the policy must not block the app's own code.
      if (msg.type() === 'error') pageErrors.push(msg.text())
    })
    await page.goto(server.url)
  })

  afterAll(async () => {
    await context?.close()
    await server?.close()
  })

  it('mounts a CodeMirror editor under the strict CSP', async () => {
    await page.locator('.cm-editor .cm-content').waitFor({ state: 'visible' })
    expect(await page.locator('.cm-editor').count()).toBe(1)
    expect(pageErrors).toEqual([])
  })

  it('accepts typed text and tracks the cursor', async () => {
    await page.locator('.cm-content').click()
    await page.keyboard.type('Hello, Meshpad!')
    await page.keyboard.press('Enter')
    await page.keyboard.type('second line')
    await expect.poll(() => page.locator('.cm-content').innerText()).toBe('Hello, Meshpad!\nsecond line')
    await expect.poll(() => page.getByTestId('cursor').innerText()).toBe('Ln 2, Col 12')
  })

  it('takes typing through CodeMirror’s input handlers: brackets close, a selection is replaced, undo', async () => {
    const content = page.locator('.cm-content')
    await content.click()
    await page.keyboard.press('Control+a')
    // The browser never edits the DOM for a typed character (no 'input' event): CodeMirror does.
    await content.evaluate((el) => {
      const w = window as unknown as { inputs: number }
      w.inputs = 0
      el.addEventListener('input', () => w.inputs++)
    })
    await page.keyboard.type('call(x')
    await expect.poll(() => content.innerText()).toBe('call(x)') // closeBrackets, as without the fast path
    expect(await page.evaluate(() => (window as unknown as { inputs: number }).inputs)).toBe(0)
    await page.keyboard.press('End')
    await page.keyboard.press('Shift+Home')
    await page.keyboard.type('done')
    await expect.poll(() => content.innerText()).toBe('done')
    await expect.poll(() => page.getByTestId('cursor').innerText()).toBe('Ln 1, Col 5')
    await page.keyboard.press('Control+z')
    await expect.poll(() => content.innerText()).toBe('call(x)')
  })

  it('saves a screenshot as a test artifact', async () => {
    const file = artifactPath('screenshots/foundation-editor.png')
    mkdirSync(dirname(file), { recursive: true })
    await page.screenshot({ path: file })
    expect(statSync(file).size).toBeGreaterThan(1000)
  })
})
