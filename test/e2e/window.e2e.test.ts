/**
 * One window in browser mode against a real node: the start screen, opening what the URL's fragment
 * names (as the Electron shell's windows do), saving with the keyboard, and errors that say what to do.
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTargetHash } from '../../src/shared/open-target'
import { artifactPath, launchChromium } from '../support/chromium'
import { editorText, startSide, stopSide, typeAtEnd, type Side } from '../support/e2e'

describe('a window in browser mode', () => {
  let context: BrowserContext
  let side: Side
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-e2e-window-'))
  const file = join(dir, 'plan.md')

  beforeAll(async () => {
    writeFileSync(file, '# Plan\n')
    context = await launchChromium()
    side = await startSide(context, 'ana')
  })

  afterAll(async () => {
    await context?.close()
    await stopSide(side)
  })

  it('starts on the start screen and creates a document from it', async () => {
    const page = side.page
    await expect.poll(() => page.getByTestId('doc-list').innerText()).toBe('')
    await expect(page.getByTestId('start').innerText()).resolves.toContain('None yet')
    await page.getByTestId('start-new').click()
    await page.locator('.cm-content').waitFor({ state: 'visible' })
    await typeAtEnd(page, 'kept without a file')
    const docId = await page.getByTestId('doc-id').innerText()
    await expect.poll(() => side.node.workspace.doc(docId)?.text).toBe('kept without a file')
    await expect.poll(() => page.getByTestId('saved').innerText()).toBe('Kept in Meshpad')
    // Ctrl+S on a document with no file asks where to save it (Save As); Escape leaves it as it is.
    await page.keyboard.press('Control+s')
    await page.getByTestId('save-dialog').waitFor({ state: 'visible' })
    expect(await page.getByTestId('save-path').inputValue()).toBe('')
    await page.keyboard.press('Escape')
    await page.getByTestId('save-dialog').waitFor({ state: 'hidden' })
    expect(await page.getByTestId('saved').innerText()).toBe('Kept in Meshpad')
  })

  it('opens the file that the URL fragment names and saves it with Ctrl+S', async () => {
    const page = await context.newPage()
    await page.goto(side.web.url + openTargetHash({ kind: 'file', path: file }))
    await expect.poll(() => editorText(page)).toBe('# Plan\n')
    await expect.poll(() => page.getByTestId('file').innerText()).toBe(file)
    await typeAtEnd(page, '- ship it')
    await expect.poll(() => page.getByTestId('saved').innerText()).toBe('Unsaved')
    await page.keyboard.press('Control+s')
    await expect.poll(() => page.getByTestId('saved').innerText()).toBe('Saved')
    expect(readFileSync(file, 'utf8')).toBe('# Plan\n- ship it')
    expect(await page.title()).toBe('plan.md — Meshpad')
    await page.close()
  })

  it('lists the documents on this device and opens one with a click', async () => {
    const page = await context.newPage()
    await page.goto(side.web.url)
    const list = page.getByTestId('doc-list')
    await expect.poll(() => list.locator('li').count()).toBe(2)
    await expect(list.innerText()).resolves.toContain('plan.md')
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      const shot = artifactPath(`screenshots/start-${scheme}.png`)
      mkdirSync(dirname(shot), { recursive: true })
      await page.screenshot({ path: shot })
      expect(statSync(shot).size).toBeGreaterThan(1000)
    }
    await list.getByText('plan.md', { exact: true }).click()
    await expect.poll(() => editorText(page)).toBe('# Plan\n- ship it')
    await page.close()
  })

  it('tells the user what went wrong when a file cannot be opened', async () => {
    const page = await context.newPage()
    await page.goto(side.web.url + openTargetHash({ kind: 'file', path: join(dir, 'missing.md') }))
    await expect.poll(() => page.getByTestId('message').innerText()).toContain('There is no file at')
    // Nothing was lost or opened by mistake: the window still offers its documents.
    await expect(page.getByTestId('start').isVisible()).resolves.toBe(true)
    await page.close()
  })

  it('opens a meshpad:// invite link in the Nearby panel, ready to join', async () => {
    const page = await context.newPage()
    const link = 'meshpad://join/' + 'A'.repeat(40)
    await page.goto(side.web.url + openTargetHash({ kind: 'invite', link }))
    await expect.poll(() => page.getByTestId('invite-input').inputValue()).toBe(link)
    // A made-up code is refused with a message, and nothing else happens.
    await page.getByTestId('invite-join').click()
    const error = page.getByTestId('nearby-panel').getByRole('alert')
    await expect.poll(() => error.innerText()).toMatch(/invite/i)
    expect(side.node.workspace.openDocs()).toHaveLength(2) // no document was made or joined
    await page.close()
  })

  it('ran without page errors under the strict CSP', () => {
    expect(side.errors).toEqual([])
  })
})
