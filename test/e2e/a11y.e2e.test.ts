/**
 * Accessibility and look, checked by a maintained checker (axe-core) on what a person sees: the start
 * screen, the editor, every side panel and the Save As dialog, in light and in dark. No serious or
 * critical violation may remain; minor and moderate ones are printed. Each state is also saved as a
 * screenshot (light, dark, and light at 800×600) in artifacts/, for people to look at. And every
 * visible control must be reachable with Tab.
 *
 * One node and one page, reused from state to state, so the whole file stays a few seconds.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { axe, type Violation } from '../support/axe'
import { artifactPath, launchChromium } from '../support/chromium'
import { startSide, stopSide, typeAtEnd, type Side } from '../support/e2e'

/** The controls issue 13's "Also" list added: no violation of any impact may name them. */
const NEW_CONTROLS = /language-picker|history-(slider|version|made-by)/

/** Every violation of any impact found on the new controls, in any state and scheme so far. */
const onNewControls = (): string[] =>
  found
    .filter((f) => f.violation.targets.some((t) => NEW_CONTROLS.test(t)))
    .map((f) => `${f.state}/${f.scheme} ${f.violation.id}: ${f.violation.targets.join(', ')}`)

const SCHEMES = ['light', 'dark'] as const
/** Every violation found, by state and scheme, printed at the end. */
const found: { state: string; scheme: string; violation: Violation }[] = []

/**
 * Checks the page in light and dark and saves its screenshots; returns the serious and critical
 * violations (as "state/scheme rule: targets", so a failure names what to fix).
 */
async function check(page: Page, state: string): Promise<string[]> {
  const bad: string[] = []
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const v of await axe(page)) {
      found.push({ state, scheme, violation: v })
      if (v.impact === 'serious' || v.impact === 'critical') {
        bad.push(`${state}/${scheme} ${v.id} (${v.impact}): ${v.help} — ${v.targets.slice(0, 3).join(', ')}`)
      }
    }
    await page.screenshot({ path: artifactPath(`a11y-${state}-${scheme}.png`) })
  }
  await page.emulateMedia({ colorScheme: 'light' })
  const size = page.viewportSize()
  await page.setViewportSize({ width: 800, height: 600 })
  await page.screenshot({ path: artifactPath(`a11y-${state}-800x600.png`) })
  if (size) await page.setViewportSize(size)
  return bad
}

/**
 * Walks the page with Tab (leaving the editor as keyboard users do: Escape, then Tab) and returns the
 * visible, enabled controls it never reached, described by test ID or name.
 */
async function unreachable(page: Page): Promise<string[]> {
  const total = await page.evaluate(() => {
    const selector =
      'button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), ' +
      'a[href], [tabindex]:not([tabindex="-1"]), [contenteditable="true"]'
    const controls = Array.from(document.querySelectorAll<HTMLElement>(selector)).filter(
      (el) => el.getClientRects().length > 0 && !el.closest('[inert]'),
    )
    controls.forEach((el, i) => (el.dataset['kbd'] = String(i)))
    ;(document.activeElement as HTMLElement | null)?.blur()
    return controls.length
  })
  if (total < 5) throw new Error(`only ${total} controls found: is the page shown?`)
  const reached = new Set<string>()
  for (let i = 0; i < total * 2 + 10 && reached.size < total; i++) {
    const inEditor = await page.evaluate(() => document.activeElement?.classList.contains('cm-content'))
    if (inEditor) await page.keyboard.press('Escape')
    await page.keyboard.press('Tab')
    const id = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['kbd'])
    if (id !== undefined) reached.add(id)
  }
  return page.evaluate(
    (seen) => {
      const missed = Array.from(document.querySelectorAll<HTMLElement>('[data-kbd]')).filter(
        (el) => !seen.includes(el.dataset['kbd'] ?? ''),
      )
      document.querySelectorAll<HTMLElement>('[data-kbd]').forEach((el) => delete el.dataset['kbd'])
      return missed.map(
        (el) => el.dataset['testid'] ?? el.getAttribute('aria-label') ?? el.outerHTML.slice(0, 80),
      )
    },
    [...reached],
  )
}

describe('accessibility and look (axe-core, light and dark)', () => {
  let context: BrowserContext
  let side: Side
  let page: Page

  beforeAll(async () => {
    context = await launchChromium()
    side = await startSide(context, 'ana')
    page = side.page
  })

  afterAll(async () => {
    const counts: Record<string, number> = {}
    for (const f of found)
      counts[f.violation.impact ?? 'none'] = (counts[f.violation.impact ?? 'none'] ?? 0) + 1
    console.log(`axe violations by impact (all states, both schemes): ${JSON.stringify(counts)}`)
    for (const f of found) {
      const v = f.violation
      console.log(`  ${f.state}/${f.scheme} ${v.impact} ${v.id}: ${v.help} (${v.targets.length}×)`)
    }
    await context?.close()
    await stopSide(side)
  })

  it('the start screen', async () => {
    await expect.poll(() => page.getByTestId('doc-list').count()).toBe(1)
    expect(await check(page, 'start')).toEqual([])
  })

  it('reaches every control of the start screen with the keyboard', async () => {
    expect(await unreachable(page)).toEqual([])
  })

  it('the editor', async () => {
    await page.getByTestId('start-new').click()
    await typeAtEnd(page, '# Launch plan\n\n- book the room\n- invite the team')
    await page.getByTestId('language-picker').waitFor({ state: 'visible' })
    expect(await check(page, 'editor')).toEqual([])
    // The language picker, with a language chosen (the document's "language" property).
    await page.getByTestId('language-picker').selectOption('Markdown')
    await page.locator('.live .cm-line span').first().waitFor({ state: 'visible' })
    expect(await check(page, 'editor-language')).toEqual([])
    expect(onNewControls()).toEqual([])
  })

  it('the editor showing who wrote what, in code', async () => {
    // Authorship tints each author's text with their colour: every token colour must still read on it.
    await page.getByTestId('language-picker').selectOption('TypeScript')
    await typeAtEnd(page, '\nconst room: Room = { name: "Hall", seats: 40, code: /^H\\d+$/ } // by Friday')
    await page.getByTestId('toggle-authors').check()
    await page.locator('.live .cm-author').first().waitFor({ state: 'visible' })
    const bad = await check(page, 'editor-authors')
    await page.getByTestId('toggle-authors').uncheck() // first: the panels' checks come after this one
    expect(bad).toEqual([])
  })

  it('the Share panel, with an invite', async () => {
    await page.getByTestId('tab-share').click()
    await page.getByTestId('share-panel').waitFor({ state: 'visible' })
    await page.getByTestId('create-invite').click()
    await page.getByTestId('invite-expiry').waitFor({ state: 'visible' })
    expect(await check(page, 'share')).toEqual([])
  })

  it('the History panel, previewing a past version', async () => {
    await page.getByTestId('tab-history').click()
    await page.getByTestId('history-panel').waitFor({ state: 'visible' })
    expect(await check(page, 'history')).toEqual([])
    await page.getByTestId('history-slider').focus()
    await page.keyboard.press('Home')
    await page.getByTestId('preview').waitFor({ state: 'visible' })
    expect(await check(page, 'history-preview')).toEqual([])
    // One person's edits are one version: the arrow steps back to now, which names who made it.
    await page.keyboard.press('ArrowRight')
    await page.getByTestId('preview').waitFor({ state: 'hidden' })
    await expect.poll(() => page.getByTestId('history-made-by').innerText()).toMatch(/^ana · /)
    expect(await check(page, 'history-version')).toEqual([])
    expect(onNewControls()).toEqual([])
  })

  it('the Properties panel', async () => {
    await page.getByTestId('tab-props').click()
    await page.getByTestId('props-panel').waitFor({ state: 'visible' })
    expect(await check(page, 'properties')).toEqual([])
  })

  it('the Nearby panel', async () => {
    await page.getByTestId('tab-nearby').click()
    await page.getByTestId('nearby-panel').waitFor({ state: 'visible' })
    expect(await check(page, 'nearby')).toEqual([])
  })

  it('the Settings panel', async () => {
    await page.getByTestId('tab-settings').click()
    await page.getByTestId('settings-panel').waitFor({ state: 'visible' })
    expect(await check(page, 'settings')).toEqual([])
  })

  it('reaches every control with the keyboard: toolbar, document bar, editor, panel, status', async () => {
    expect(await unreachable(page)).toEqual([])
  })

  it('the Save As dialog', async () => {
    await page.getByTestId('save-as').click()
    await page.getByTestId('save-dialog').waitFor({ state: 'visible' })
    expect(await check(page, 'save-as')).toEqual([])
    await page.keyboard.press('Escape')
  })
})
