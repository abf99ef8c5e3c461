/**
 * History people can trust (issue 13, the "Also" list), through the UI of two real nodes in browser
 * mode, a Chromium each:
 * - the History slider steps by the groups its timeline lists ("Version k of n"), naming who made
 *   each and when, one group per arrow key;
 * - a past version is shown with the document's syntax highlighting;
 * - a language picker in the status bar sets the document's language for everyone, live;
 * - Restore changes only what differs, so neither it nor its Undo credits untouched text (a long
 *   paragraph here) to the restorer;
 * - a restore that removes someone's text tells them: who restored which version, how much of their
 *   text went, and a way to see it in History.
 * Each new state is saved as screenshots in light, dark and 800×600 (artifacts/screenshots/history-*), and the
 * new controls are checked with axe. Run `npm run build` first (npm test does).
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { axe } from '../support/axe'
import { launchChromium, saveScreens } from '../support/chromium'
import {
  authorOf,
  editorText,
  joinByInvite,
  openPanel,
  previewText,
  startSide,
  stopSide,
  typeAtEnd,
  type Side,
} from '../support/e2e'

/**
 * A window tall and wide enough that CodeMirror renders the whole document, long paragraph included
 * (editorText and previewText read the rendered lines).
 */
const BIG_WINDOW = { width: 1800, height: 1500 }

/** Saves the page in light, dark and 800×600, in the usual window size (test/support/chromium.ts). */
const shots = (page: Page, name: string): Promise<void> => saveScreens(page, `history-${name}`)

/** axe's violations (any impact) on elements matching `selector`, in light and dark. */
async function violationsOn(page: Page, selector: RegExp): Promise<string[]> {
  const bad: string[] = []
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const v of await axe(page)) {
      const targets = v.targets.filter((t) => selector.test(t))
      if (targets.length > 0) bad.push(`${scheme} ${v.id} (${v.impact}): ${targets.join(', ')}`)
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return bad
}

const text = (page: Page, testId: string): Promise<string> => page.getByTestId(testId).innerText()

/** Sets a document property in the Properties panel, as people did before the language picker. */
async function setProp(page: Page, key: string, value: string): Promise<void> {
  await openPanel(page, 'props')
  await page.getByTestId('prop-new-key').fill(key)
  await page.getByTestId('prop-new-value').fill(value)
  await page.getByTestId('prop-add').click()
  await page.locator(`[data-testid=prop-row][data-key="${key}"]`).waitFor({ state: 'visible' })
}

/**
 * How the first highlighted token of the first line is drawn (null: it has none). Tokens are spans
 * with CodeMirror's generated highlight classes (ͼ…), unlike cursors and other marks.
 */
const tokenStyle = (page: Page, view: string): Promise<{ weight: string; color: string } | null> =>
  page.evaluate((selector) => {
    const span = document.querySelector(`${selector} .cm-content > .cm-line:first-child span[class^="ͼ"]`)
    if (!span) return null
    const style = getComputedStyle(span)
    return { weight: style.fontWeight, color: style.color }
  }, view)

/**
 * A paragraph on one line, long enough (10 000 characters and more) that the text diff did not try
 * characters on it, and replaced it whole.
 */
const PARAGRAPH = `Untouched paragraph by ana. ${'The quick brown fox jumps over the lazy dog. '.repeat(230)}`

describe('history people can trust', () => {
  let contexts: BrowserContext[] = []
  let ana: Side
  let ben: Side

  beforeAll(async () => {
    contexts = await Promise.all([launchChromium(), launchChromium()])
    const sides = await Promise.all(['ana', 'ben'].map((name, i) => startSide(contexts[i]!, name)))
    ;[ana, ben] = [sides[0]!, sides[1]!]
  })

  afterAll(async () => {
    for (const context of contexts) await context.close()
    for (const side of [ana, ben]) await stopSide(side)
  })

  it('Ana starts a plan, Ben joins and adds to it, Ana adds more: three groups of edits', async () => {
    // Ana starts a plan, Ben joins and adds to it, Ana adds more: three groups of edits.
    await ana.page.getByTestId('start-new').click()
    await typeAtEnd(ana.page, '# Launch plan\n')
    await joinByInvite(ana.page, ben.page)
    await expect.poll(() => editorText(ben.page), { timeout: 15_000 }).toBe('# Launch plan\n')
    await typeAtEnd(ben.page, 'ben books the room\n')
    await expect.poll(() => editorText(ana.page)).toBe('# Launch plan\nben books the room\n')
    await typeAtEnd(ana.page, 'ana invites the team')
    await expect.poll(() => editorText(ben.page)).toContain('ana invites the team')
  })

  it('steps the History slider by the groups its timeline lists, one per arrow key', async () => {
    const page = ana.page
    await openPanel(page, 'history')
    const slider = page.getByTestId('history-slider')
    // Ben's author record reaches Ana just after his text: until then his edits are nobody's.
    await expect.poll(() => slider.getAttribute('max'), { timeout: 10_000 }).toBe('3')
    expect(await page.getByTestId('timeline').locator('li').count()).toBe(3)
    expect(await text(page, 'history-version')).toBe('Version 3 of 3 (now)')
    expect(await text(page, 'history-made-by')).toMatch(/^ana · \d/)

    await slider.focus()
    await page.keyboard.press('ArrowLeft')
    await expect.poll(() => text(page, 'history-version')).toBe('Version 2 of 3')
    expect(await text(page, 'history-made-by')).toMatch(/^ben · \d/)
    await expect.poll(() => previewText(page)).toBe('# Launch plan\nben books the room\n')
    expect(await slider.getAttribute('aria-valuetext')).toMatch(/^Version 2 of 3: ben · /)
    await shots(page, '1-version-by-group')

    await page.keyboard.press('ArrowLeft')
    await expect.poll(() => text(page, 'history-version')).toBe('Version 1 of 3')
    expect(await text(page, 'history-made-by')).toMatch(/^ana · \d/)
    await expect.poll(() => previewText(page)).toBe('# Launch plan\n')
    await page.keyboard.press('Home')
    await expect.poll(() => text(page, 'history-version')).toBe('Version 0 of 3')
    expect(await text(page, 'history-made-by')).toBe('Before the first edit')
    await page.keyboard.press('End')
    await page.getByTestId('preview').waitFor({ state: 'hidden' })
    expect(await text(page, 'history-version')).toBe('Version 3 of 3 (now)')
    expect(await violationsOn(page, /history-(slider|version|made-by)/)).toEqual([])
  })

  it('shows a past version with the document’s syntax highlighting', async () => {
    const page = ana.page
    await setProp(page, 'language', 'markdown')
    // The editor draws the heading bold…
    await expect.poll(() => tokenStyle(page, '.live')).toMatchObject({ weight: '700' })
    await openPanel(page, 'history')
    await page.getByTestId('history-slider').focus()
    await page.keyboard.press('Home')
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => previewText(page)).toBe('# Launch plan\n')
    // …and so does the past version.
    await expect.poll(() => tokenStyle(page, '[data-testid=preview]')).toMatchObject({ weight: '700' })
    await shots(page, '2-past-version-highlighted')
    await page.getByTestId('history-now').click()
    await page.getByTestId('preview').waitFor({ state: 'hidden' })
  })

  it('sets the language with a picker in the status bar, live in everyone’s window', async () => {
    const picker = (page: Page): ReturnType<Page['getByTestId']> => page.getByTestId('language-picker')
    // The property set by hand shows as the language it names.
    await expect.poll(() => picker(ben.page).inputValue()).toBe('Markdown')
    await expect.poll(() => tokenStyle(ben.page, '.live')).toMatchObject({ weight: '700' })
    // Python: "# Launch plan" is a comment now, not a heading, for Ben too (CodeMirror's comment colour).
    await picker(ana.page).selectOption('Python')
    await expect.poll(() => picker(ben.page).inputValue()).toBe('Python')
    await expect
      .poll(() => tokenStyle(ben.page, '.live'))
      .toEqual({ weight: '400', color: 'rgb(153, 68, 0)' })
    await openPanel(ana.page, 'props')
    const row = ana.page.locator('[data-testid=prop-row][data-key=language]')
    await expect.poll(() => row.getByTestId('prop-value').inputValue()).toBe('Python')
    await shots(ana.page, '3-language-picker')
    expect(await violationsOn(ana.page, /language-picker/)).toEqual([])
    // Automatic: the property goes, and a document with no file name is plain text.
    await picker(ben.page).selectOption({ label: 'Automatic (plain text)' })
    await expect.poll(() => picker(ana.page).inputValue()).toBe('')
    await expect.poll(() => tokenStyle(ana.page, '.live')).toBeNull()
    await row.waitFor({ state: 'detached' })
  })

  it('restores and undoes without crediting untouched text to the restorer', async () => {
    for (const side of [ana, ben]) await side.page.setViewportSize(BIG_WINDOW)
    // Ana adds a long paragraph; Ben edits before and after it.
    await ana.page.locator('.live .cm-content').click()
    await ana.page.keyboard.press('Control+End')
    await ana.page.keyboard.press('Enter')
    await ana.page.keyboard.insertText(PARAGRAPH)
    await expect.poll(() => editorText(ben.page)).toContain('lazy dog. ')
    const before = await editorText(ben.page)
    await ben.page.locator('.live .cm-content').click()
    await ben.page.keyboard.press('Control+Home')
    await ben.page.keyboard.type('Draft: ')
    await ben.page.keyboard.press('Control+End')
    await ben.page.keyboard.type('[ben]')
    const after = `Draft: ${before}[ben]`
    await expect.poll(() => editorText(ana.page)).toBe(after)
    await ana.page.getByTestId('toggle-authors').check()
    expect(await authorOf(ana.page, 'Untouched')).toBe('ana')
    expect(await authorOf(ana.page, 'Draft')).toBe('ben')

    // Ben restores the version before his edits: only they go.
    await openPanel(ben.page, 'history')
    const slider = ben.page.getByTestId('history-slider')
    await slider.focus()
    await ben.page.keyboard.press('ArrowLeft')
    await expect.poll(() => previewText(ben.page)).toBe(before)
    await ben.page.getByTestId('history-restore').click()
    await expect.poll(() => editorText(ana.page)).toBe(before)
    expect(await authorOf(ana.page, 'Untouched')).toBe('ana')
    expect(await authorOf(ana.page, 'Launch')).toBe('ana')

    // Ben's Undo brings his edits back, and only them.
    await ben.page.locator('.live .cm-content').click()
    await ben.page.keyboard.press('Control+z')
    await expect.poll(() => editorText(ana.page)).toBe(after)
    expect(await authorOf(ana.page, 'Untouched')).toBe('ana')
    expect(await authorOf(ana.page, 'Draft')).toBe('ben')
    await ana.page.getByTestId('toggle-authors').uncheck()
    await ana.page.mouse.move(0, 0)
  })

  it('tells the people whose text a restore removed, with a way to see it in History', async () => {
    await typeAtEnd(ana.page, '\nOrder the cake.')
    const withCake = await editorText(ana.page)
    await expect.poll(() => editorText(ben.page)).toBe(withCake)
    // Ben restores the version before Ana's sentence (16 characters, the line break included).
    await openPanel(ben.page, 'history')
    await ben.page.getByTestId('history-slider').focus()
    await ben.page.keyboard.press('End')
    await ben.page.keyboard.press('ArrowLeft')
    await expect.poll(() => previewText(ben.page)).not.toContain('cake')
    const version = (await text(ben.page, 'history-version')).toLowerCase()
    await ben.page.getByTestId('history-restore').click()
    await expect.poll(() => editorText(ana.page)).not.toContain('cake')

    const notice = ana.page.getByTestId('restore-notice')
    await notice.waitFor({ state: 'visible', timeout: 10_000 })
    expect(await notice.innerText()).toContain(`ben restored ${version} (as of `)
    expect(await notice.innerText()).toContain('16 characters you wrote were removed.')
    await shots(ana.page, '4-restore-notice')
    expect(await violationsOn(ana.page, /restore-notice/)).toEqual([])
    // Ben is not told of his own restore.
    expect(await ben.page.getByTestId('restore-notice').count()).toBe(0)

    // History opens on the version just before Ben's restore: Ana's sentence is there.
    await ana.page.getByTestId('restore-notice-view').click()
    await notice.waitFor({ state: 'detached' })
    await ana.page.getByTestId('history-panel').waitFor({ state: 'visible' })
    await expect.poll(() => previewText(ana.page)).toBe(withCake)
    await shots(ana.page, '5-restore-in-history')
  })

  it('ran without page errors under the strict CSP', () => {
    expect(ana.errors).toEqual([])
    expect(ben.errors).toEqual([])
  })
})
