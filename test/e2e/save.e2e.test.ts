/**
 * Saving never writes over a file the user did not choose (issue 13), driven only through the
 * browser-mode UI on a real node: a path typed to open a file is not reused by the next New document,
 * Save of a document with no file asks where to save it, and Save As onto an existing file that is not
 * the document's own asks before replacing it. Opening a folder and pasting a nonsense invite say what
 * is wrong. Run `npm run build` first (npm test does).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, saveScreens } from '../support/chromium'
import { editorText, startSide, stopSide, typeAtEnd, until, type Side } from '../support/e2e'

/** Saves the page in light, dark and 800×600 (test/support/chromium.ts). */
const shot = (page: Page, name: string): Promise<void> => saveScreens(page, `save-${name}`)

describe('saving in browser mode', () => {
  let context: BrowserContext | undefined
  let side: Side | undefined
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-e2e-save-'))
  const existing = join(dir, 'existing.txt')
  const fresh = join(dir, 'fresh.txt')
  const read = (path: string): string => readFileSync(path, 'utf8')

  beforeAll(async () => {
    writeFileSync(existing, 'precious\n')
    context = await launchChromium()
    side = await startSide(context, 'save')
  })

  afterAll(async () => {
    await context?.close()
    await stopSide(side)
  })

  it('never saves a new document over the file whose path was typed to open it', async () => {
    const { page, node } = side!
    // Open the existing file by typing its path and pressing Enter.
    await page.getByTestId('target').fill(existing)
    await page.getByTestId('target').press('Enter')
    await expect.poll(() => editorText(page)).toBe('precious\n')
    const first = await page.getByTestId('doc-id').innerText()

    // New, type, Save: the new document has no file, so Save asks where to save it.
    await page.getByTestId('new').click()
    await expect.poll(() => page.getByTestId('doc-id').innerText()).not.toBe(first)
    const docId = await page.getByTestId('doc-id').innerText()
    await expect.poll(() => editorText(page)).toBe('')
    await typeAtEnd(page, 'scratch note')
    await until(() => node.workspace.doc(docId)?.text === 'scratch note', 'the typing to reach the node')
    await page.getByTestId('save').click()
    const dialog = page.getByTestId('save-dialog')
    await expect.poll(async () => (await dialog.isVisible()) || read(existing) !== 'precious\n').toBe(true)
    expect(read(existing)).toBe('precious\n')
    expect(await dialog.isVisible()).toBe(true)
    // Nor is the new document named after that file.
    expect(await page.getByTestId('doc-title').innerText()).toBe('Untitled')
    expect(await page.getByTestId('save-path').inputValue()).toBe('')
    await shot(page, 'save-as-dialog')

    // Choosing the existing file asks before replacing it; Cancel leaves it alone.
    await page.getByTestId('save-path').fill(existing)
    await page.getByTestId('save-path').press('Enter')
    const confirm = page.getByTestId('overwrite-dialog')
    await confirm.waitFor({ state: 'visible' })
    expect(await confirm.innerText()).toContain('existing.txt already exists')
    await shot(page, 'overwrite-confirm')
    await page.getByTestId('overwrite-cancel').click()
    await confirm.waitFor({ state: 'hidden' })
    expect(read(existing)).toBe('precious\n')
    expect(await page.getByTestId('saved').innerText()).toBe('Kept in Meshpad')

    // Back in the Save As dialog, another path saves at once, and links the document to it.
    expect(await dialog.isVisible()).toBe(true)
    await page.getByTestId('save-path').fill(fresh)
    await page.getByTestId('save-confirm').click()
    await expect.poll(() => page.getByTestId('saved').innerText()).toBe('Saved')
    expect(read(fresh)).toBe('scratch note')
    expect(read(existing)).toBe('precious\n')
    await dialog.waitFor({ state: 'hidden' })

    // Save of a linked document writes its own file without asking.
    await typeAtEnd(page, '!')
    await expect.poll(() => page.getByTestId('saved').innerText()).toBe('Unsaved')
    await page.getByTestId('save').click()
    await expect.poll(() => page.getByTestId('saved').innerText()).toBe('Saved')
    expect(read(fresh)).toBe('scratch note!')
    expect(await dialog.isVisible()).toBe(false)
    expect(await confirm.isVisible()).toBe(false)
  })

  it('asks before Save As replaces another file, and replaces it only when told to', async () => {
    const { page } = side!
    await page.getByTestId('save-as').click()
    // Save As starts from the document's own file; choosing it again saves without asking.
    expect(await page.getByTestId('save-path').inputValue()).toBe(fresh)
    await page.getByTestId('save-path').fill(existing)
    await page.getByTestId('save-confirm').click()
    const confirm = page.getByTestId('overwrite-dialog')
    await confirm.waitFor({ state: 'visible' })
    expect(read(existing)).toBe('precious\n')
    await page.getByTestId('overwrite-replace').click()
    await confirm.waitFor({ state: 'hidden' })
    await expect.poll(() => page.getByTestId('file').innerText()).toBe(existing)
    expect(read(existing)).toBe('scratch note!')
    expect(await page.getByTestId('saved').innerText()).toBe('Saved')
  })

  it('says plainly that a folder is not a file when one is opened', async () => {
    const { page } = side!
    await page.getByTestId('target').fill(dir)
    await page.getByTestId('open').click()
    const message = page.getByTestId('message')
    await message.waitFor({ state: 'visible' })
    const text = await message.innerText()
    expect(text).toContain(`${dir} is a folder, not a file`)
    expect(text).not.toMatch(/input\/output|failing/)
  })

  it('says that a nonsense invite is not an invite, not that it comes from another version', async () => {
    const { page } = side!
    await page.getByTestId('tab-nearby').click()
    await page.getByTestId('invite-input').fill('thisisnotaninvitecodeatall')
    await page.getByTestId('invite-join').click()
    const error = page.getByTestId('side-panel').locator('.panel-error')
    await error.waitFor({ state: 'visible' })
    const text = await error.innerText()
    expect(text).toMatch(/^That is not a Meshpad invite: check that you copied the whole code or link/)
    expect(text).not.toMatch(/version/i)
  })
})
