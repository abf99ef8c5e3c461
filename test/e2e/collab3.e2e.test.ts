/**
 * Collaboration end to end: three real nodes on 127.0.0.1 (no discovery), each with browser mode and
 * a Chromium page, driven only through the UI: share → join by request → approve → edit; join by
 * invite; live cursors anchored to characters; a viewer who cannot edit; the history slider and
 * restore; properties; working offline and catching up ("while you were away").
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, saveScreens } from '../support/chromium'
import {
  editorText,
  previewText,
  startSide,
  stopSide,
  textBeforeCaret,
  typeAtEnd,
  until,
  type Side,
} from '../support/e2e'

/** Saves the page in light, dark and 800×600 (test/support/chromium.ts). */
const shot = (page: Page, name: string): Promise<void> => saveScreens(page, `collab-${name}`)

describe('three people, three nodes, three windows', () => {
  // One browser per person, as in life: a page behind another in one browser gets its frames
  // throttled by Chromium, and every click would wait a second for one.
  let contexts: BrowserContext[] = []
  let a: Side
  let b: Side
  let c: Side
  let docId: string

  beforeAll(async () => {
    contexts = await Promise.all([launchChromium(), launchChromium(), launchChromium()])
    const sides = await Promise.all(['ana', 'ben', 'cy'].map((name, i) => startSide(contexts[i]!, name)))
    ;[a, b, c] = [sides[0]!, sides[1]!, sides[2]!]
  })

  afterAll(async () => {
    for (const context of contexts) await context.close()
    for (const side of [a, b, c]) await stopSide(side)
  })

  it('shares on the LAN, and a nearby device joins by request once the owner accepts', async () => {
    await a.page.getByTestId('start-new').click()
    await typeAtEnd(a.page, 'Shared plan: ship the release')
    docId = await a.page.getByTestId('doc-id').innerText()
    await a.page.getByTestId('tab-share').click()
    await a.page.getByTestId('share-lan').check()
    await shot(a.page, '1-share-panel')

    // Ben's device finds Ana's (by address here: no multicast in tests) and asks to join.
    await b.page.getByTestId('tab-nearby').click()
    await b.page.getByTestId('add-address').fill(`127.0.0.1:${a.node.port}`)
    await b.page.getByTestId('add-peer').click()
    const row = b.page.getByTestId('nearby-panel').locator(`[data-testid=nearby-doc][data-doc-id="${docId}"]`)
    await row.waitFor({ state: 'visible', timeout: 15_000 })
    await shot(b.page, '2-nearby')
    await row.getByTestId('join-doc').click()

    const request = a.page.getByTestId('join-request')
    await request.waitFor({ state: 'visible', timeout: 15_000 })
    expect(await request.innerText()).toContain('ben')
    await shot(a.page, '3-join-request')
    await request.getByTestId('join-role').selectOption('editor')
    await request.getByTestId('join-accept').click()

    await expect.poll(() => editorText(b.page), { timeout: 15_000 }).toBe('Shared plan: ship the release')
    await typeAtEnd(b.page, ' on Friday')
    await expect.poll(() => editorText(a.page)).toBe('Shared plan: ship the release on Friday')
  })

  it('joins by invite code as a viewer, who cannot edit', async () => {
    await a.page.getByTestId('invite-role').selectOption('viewer')
    await a.page.getByTestId('create-invite').click()
    const code = await a.page.getByTestId('invite-link').inputValue()
    expect(code.length).toBeGreaterThan(20)
    await shot(a.page, '4-invite')

    await c.page.getByTestId('tab-nearby').click()
    await c.page.getByTestId('invite-input').fill(code)
    await c.page.getByTestId('invite-join').click()
    await expect
      .poll(() => editorText(c.page), { timeout: 15_000 })
      .toBe('Shared plan: ship the release on Friday')

    await c.page.locator('.live .cm-content').click()
    await c.page.keyboard.press('Control+End')
    await c.page.keyboard.type('viewer was here')
    await new Promise((r) => setTimeout(r, 300))
    expect(await editorText(c.page)).toBe('Shared plan: ship the release on Friday')
    expect(a.node.workspace.doc(docId)!.text).toBe('Shared plan: ship the release on Friday')
    // The owner sees three members, and makes the viewer an editor.
    const members = a.page.getByTestId('member')
    await expect.poll(() => members.count()).toBe(3)
    await a.page
      .locator(`[data-testid=member][data-device="${c.node.workspace.self}"]`)
      .getByTestId('member-role')
      .selectOption('editor')
    await until(() => c.node.workspace.doc(docId)?.myRole === 'editor', 'cy to become an editor')
  })

  it('shows Ben’s cursor in Ana’s window at the right place after Cy types before it', async () => {
    // Ben puts his cursor just before "ship".
    await b.page.locator('.live .cm-content').click()
    await b.page.keyboard.press('Control+Home')
    for (const _ of 'Shared plan: ') await b.page.keyboard.press('ArrowRight')
    await expect.poll(() => textBeforeCaret(a.page, 'ben')).toBe('Shared plan: ')
    // Cy types at the very start, before Ben's cursor.
    await expect.poll(() => c.page.locator('.live .cm-content').getAttribute('contenteditable')).toBe('true')
    await c.page.locator('.live .cm-content').click()
    await c.page.keyboard.press('Control+Home')
    await c.page.keyboard.type('URGENT ')
    await expect.poll(() => editorText(a.page)).toBe('URGENT Shared plan: ship the release on Friday')
    await expect.poll(() => textBeforeCaret(a.page, 'ben')).toBe('URGENT Shared plan: ')
    // The people bar lists both, and following is a click.
    await expect.poll(() => a.page.getByTestId('person').count()).toBe(2)
    const benChip = a.page.locator(`[data-testid=person][data-device="${b.node.workspace.self}"]`)
    await benChip.click()
    await expect.poll(() => benChip.getAttribute('aria-pressed')).toBe('true')
    await shot(a.page, '5-cursors')
    await benChip.click() // stop following
    // Authorship: coloured by who wrote it; hovering Cy's word says it was Cy, and when.
    await a.page.getByTestId('toggle-authors').check()
    await expect.poll(() => a.page.locator('.cm-author').count()).toBeGreaterThan(1)
    await a.page.locator('.cm-author', { hasText: 'URGENT' }).hover()
    await expect.poll(() => a.page.locator('.cm-author-tooltip').innerText()).toMatch(/^cy · .*\d/)
    await shot(a.page, '6-authorship')
    await a.page.getByTestId('toggle-authors').uncheck()
  })

  it('shows an earlier version with the history slider, and restore reaches everyone', async () => {
    await a.page.getByTestId('tab-history').click()
    const slider = a.page.getByTestId('history-slider')
    const max = Number(await slider.getAttribute('max'))
    expect(max).toBeGreaterThan(2)
    // The first entry: Ana's own first typing, before anyone else wrote.
    await slider.fill('1')
    const preview = a.page.getByTestId('preview-editor')
    await expect.poll(() => previewText(a.page)).toBe('Shared plan: ship the release')
    expect(await preview.isVisible()).toBe(true)
    await shot(a.page, '7-history')
    await a.page.getByTestId('history-restore').click()
    for (const side of [a, b, c]) {
      await expect.poll(() => editorText(side.page)).toBe('Shared plan: ship the release')
    }
    // Restoring added ops; the history grew rather than shrank.
    expect(Number(await slider.getAttribute('max'))).toBeGreaterThan(max)
  })

  it('syncs a property set on Ana’s window to Ben’s', async () => {
    await a.page.getByTestId('tab-props').click()
    await a.page.getByTestId('prop-new-key').fill('status')
    await a.page.getByTestId('prop-new-value').fill('draft')
    await a.page.getByTestId('prop-add').click()
    await b.page.getByTestId('tab-props').click()
    const row = b.page.locator('[data-testid=prop-row][data-key=status]')
    await expect.poll(() => row.getByTestId('prop-value').inputValue(), { timeout: 10_000 }).toBe('draft')
    await shot(b.page, '8-properties')
  })

  it('takes Cy offline, everyone edits, and on reconnect all converge and Cy sees what changed', async () => {
    await c.page.getByTestId('tab-settings').click()
    await c.page.getByTestId('settings-offline').check()
    await expect.poll(() => c.page.getByTestId('online').innerText()).toBe('Offline')
    await typeAtEnd(a.page, ' (ana offline edit)')
    // Ben types after Ana's text has reached him: typed at once, both would be at the same place and
    // the CRDT could rightly put his between her last characters, as it may order concurrent inserts.
    await expect.poll(() => editorText(b.page)).toContain(' (ana offline edit)')
    await typeAtEnd(b.page, ' [ben]')
    await c.page.locator('.live .cm-content').click()
    await c.page.keyboard.press('Control+Home')
    await c.page.keyboard.type('cy: ')
    await new Promise((r) => setTimeout(r, 300))
    expect(await editorText(c.page)).not.toContain('ana offline edit')
    await c.page.getByTestId('settings-offline').uncheck()
    const texts = async (): Promise<string[]> => Promise.all([a, b, c].map((s) => editorText(s.page)))
    await expect.poll(async () => new Set(await texts()).size, { timeout: 20_000 }).toBe(1)
    const final = (await texts())[0]!
    for (const part of ['cy: ', ' (ana offline edit)', ' [ben]']) expect(final).toContain(part)
    const away = c.page.getByTestId('away')
    await away.waitFor({ state: 'visible' })
    expect(await away.innerText()).toContain('ana, ben changed')
    const highlighted = await c.page.locator('.cm-away').allInnerTexts()
    expect(highlighted.join('')).toContain('ana offline edit')
    await shot(c.page, '9-while-you-were-away')
    await c.page.getByTestId('away-dismiss').click()
    await expect.poll(() => c.page.locator('.cm-away').count()).toBe(0)
  })

  it('ran without page errors under the strict CSP', () => {
    expect(a.errors).toEqual([])
    expect(b.errors).toEqual([])
    expect(c.errors).toEqual([])
  })
})
