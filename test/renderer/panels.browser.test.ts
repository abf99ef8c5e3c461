/**
 * The collaboration panels (src/renderer/src/panels) in Chromium over a fake bridge: they load, call
 * the API with the right arguments, and follow its events.
 */
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { artifactPath, launchChromium } from '../support/chromium'
import { bundlePage } from '../support/page-bundle'
import { DROPPED_TITLE } from '../../src/renderer/src/dropped-marks'

const X = 'x'.repeat(32)
const Y = 'y'.repeat(32)

describe('collaboration panels', () => {
  let context: BrowserContext
  let page: Page
  const calls = (): Promise<unknown[][]> =>
    page.evaluate(() => (window as unknown as { calls: unknown[][] }).calls)
  const opened = (): Promise<string[]> =>
    page.evaluate(() => (window as unknown as { opened: string[] }).opened)
  const emit = (event: unknown): Promise<void> =>
    page.evaluate((e) => (window as unknown as { emit(e: unknown): void }).emit(e), event)

  beforeAll(async () => {
    const bundle = bundlePage(join(import.meta.dirname, 'panels-page.ts'), {
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"development"' },
    })
    context = await launchChromium()
    page = await context.newPage()
    await page.setContent('<!doctype html><meta charset="utf-8"><body></body>')
    // The app's own stylesheet, so that the screenshots show the panels as people see them.
    await page.addStyleTag({ path: join(import.meta.dirname, '../../src/renderer/src/styles.css') })
    await page.addScriptTag({ content: bundle })
    await page.getByTestId('nearby-device').waitFor()
  })

  afterAll(async () => {
    await context?.close()
  })

  it('History preview: text deleted long ago and dropped is framed and says so', async () => {
    const dropped = page.getByTestId('preview-editor').locator('.cm-dropped')
    await dropped.waitFor()
    expect(await dropped.count()).toBe(1)
    expect(await dropped.textContent()).toBe('\ufffd'.repeat(4))
    expect(await dropped.getAttribute('title')).toBe(DROPPED_TITLE)
  })

  it('Nearby: joins, waits for the owner, opens on the joined event', async () => {
    const row = page.locator(`[data-testid=nearby-doc][data-doc-id="${X}"]`)
    await page.locator(`[data-testid=nearby-doc][data-doc-id="${Y}"]`).getByTestId('open-nearby-doc').click()
    expect(await opened()).toEqual([Y])
    await row.getByTestId('join-doc').click()
    await expect
      .poll(() => row.getByTestId('join-status').textContent())
      .toBe('Asked to join — waiting for the owner')
    expect(await calls()).toContainEqual(['requestJoin', 'cc', X])
    await emit({ type: 'joined', docId: X, ok: false, message: 'The owner said no.' })
    await expect.poll(() => row.getByTestId('join-status').textContent()).toBe('The owner said no.')
    await row.getByTestId('join-doc').click()
    await emit({ type: 'joined', docId: X, ok: true, message: 'joined as editor' })
    await expect.poll(opened).toEqual([Y, X])

    await page.getByTestId('invite-input').fill(' CODE ')
    await page.getByTestId('invite-join').click()
    await expect.poll(() => page.getByText('Waiting for the inviter…').count()).toBe(1)
    // Only the answer for the invite's document ends the wait.
    await emit({ type: 'joined', docId: 'q'.repeat(32), ok: true, message: 'ok' })
    await emit({ type: 'joined', docId: 'z'.repeat(32), ok: true, message: 'ok' })
    await expect.poll(opened).toEqual([Y, X, 'z'.repeat(32)])
    expect(await calls()).toContainEqual(['joinWithInvite', 'CODE'])

    await page.getByTestId('add-address').fill('nonsense')
    await page.getByTestId('add-peer').click()
    await expect.poll(() => page.getByText('Bad address.').count()).toBe(1)
    // Connecting until the node says how it went; another address's outcome changes nothing.
    const status = page.getByTestId('add-status')
    await page.getByTestId('add-address').fill('10.0.0.5:4000')
    await page.getByTestId('add-peer').click()
    await expect.poll(() => status.textContent()).toBe('Connecting to 10.0.0.5:4000…')
    expect(await page.getByText('Bad address.').count()).toBe(0)
    await emit({ type: 'peer-added', address: '10.0.0.9:4000', ok: true, name: 'Zed', message: '' })
    await emit({ type: 'peer-added', address: '10.0.0.5:4000', ok: true, name: 'Dan', message: '' })
    await expect.poll(() => status.textContent()).toBe('Connected to Dan (10.0.0.5:4000).')
    await page.getByTestId('add-address').fill('10.0.0.6:4000')
    await page.getByTestId('add-peer').press('Enter')
    await emit({
      type: 'peer-added',
      address: '10.0.0.6:4000',
      ok: false,
      name: null,
      message: 'Nothing is listening on 10.0.0.6:4000.',
    })
    await expect.poll(() => page.getByText('Nothing is listening on 10.0.0.6:4000.').count()).toBe(1)
    expect(await status.count()).toBe(0)

    await emit({ type: 'nearby', devices: [] })
    await expect.poll(() => page.getByText(/No one nearby yet/).count()).toBe(1)
  })

  it('JoinRequests: deduplicates, accepts with the chosen role', async () => {
    const req = { id: 'r1', docId: 'd', docTitle: 'Notes', device: 'ee', deviceId: 'EEEE', name: 'Eve' }
    await emit({ type: 'join-request', request: req })
    await emit({ type: 'join-request', request: { ...req, id: 'r2', name: 'Fay' } })
    await expect.poll(() => page.getByTestId('join-request').count()).toBe(2)
    const first = page.locator('[data-request-id=r1]')
    expect(await first.textContent()).toContain('Eve (EEEE) asks to join “Notes”')
    await first.getByTestId('join-role').selectOption('viewer')
    await first.getByTestId('join-accept').click()
    await expect.poll(() => page.getByTestId('join-request').count()).toBe(1)
    expect(await calls()).toContainEqual(['answerJoin', 'r1', true, 'viewer'])
  })

  it('Share: LAN, invite, roles and a confirmed remove', async () => {
    await page.getByTestId('share-lan').check()
    expect(await calls()).toContainEqual(['setSharedOnLan', true])
    await page.getByTestId('invite-role').selectOption('viewer')
    await page.getByTestId('create-invite').click()
    // One field, the link (which Join accepts as well as the bare code).
    expect(await page.getByTestId('invite-link').inputValue()).toBe('meshpad://join/CODE123')
    const bob = page.locator('[data-testid=member][data-device=bb]')
    await bob.getByTestId('member-role').selectOption('viewer')
    expect(await calls()).toContainEqual(['setRole', 'd'.repeat(32), 'bb', 'viewer'])
    expect(await page.getByTestId('member').count()).toBe(5)
    const remove = bob.getByTestId('member-remove')
    await remove.click()
    expect(await remove.textContent()).toBe('Confirm remove')
    await remove.click()
    await expect.poll(() => page.getByTestId('member').count()).toBe(4)
    expect(await calls()).toContainEqual(['removeMember', 'bb'])
  })

  it('Share: the creator cannot be managed, a flagged member is marked, open invites revoke', async () => {
    const creator = page.locator('[data-testid=member][data-device=cc]')
    expect(await creator.getByTestId('member-creator').textContent()).toContain('creator')
    expect(await creator.getByTestId('member-remove').count()).toBe(0)
    expect(await creator.getByTestId('member-role').count()).toBe(0)
    expect(await page.getByTestId('member-creator').count()).toBe(1)
    const mal = page.locator('[data-testid=member][data-device=mm]')
    expect(await mal.getByRole('note').textContent()).toContain(
      'Signed conflicting changes: its member changes no longer count',
    )
    expect(await page.getByTestId('member-flagged').count()).toBe(1)
    expect(await page.getByTestId('member-withholding').count()).toBe(1)
    expect(await mal.getByTestId('member-remove').count()).toBe(1) // an owner may still remove it

    const invites = page.getByTestId('open-invite')
    expect(await invites.allTextContents()).toEqual([
      'editor, expires in 23 hoursRevoke',
      'viewer, expires in 2 hoursRevoke',
    ])
    await page.getByRole('button', { name: 'Revoke editor invite' }).click()
    await expect.poll(() => invites.count()).toBe(1)
    expect(await calls()).toContainEqual(['revokeInvite', 'i1'])
    expect(await invites.getAttribute('data-invite-id')).toBe('i2')
    await page.getByTestId('share-panel').screenshot({ path: artifactPath('screenshots/share-panel.png') })
    await page.getByRole('button', { name: 'Revoke viewer invite' }).click()
    await expect.poll(() => page.getByTestId('open-invites').count()).toBe(0)
  })

  it('Properties: edits on Enter, adds and removes', async () => {
    const value = page.locator('[data-testid=prop-row][data-key=title]').getByTestId('prop-value')
    await value.fill('Renamed')
    await value.press('Enter')
    await page.getByTestId('prop-new-key').fill('language')
    await page.getByTestId('prop-new-value').fill('python')
    await page.getByTestId('prop-add').click()
    await expect.poll(() => page.getByTestId('prop-row').count()).toBe(2)
    await page.locator('[data-testid=prop-row][data-key=title]').getByTestId('prop-remove').click()
    await expect.poll(() => page.getByTestId('prop-row').count()).toBe(1)
    const c = await calls()
    expect(c).toContainEqual(['setProp', 'title', 'Renamed'])
    expect(c).toContainEqual(['setProp', 'language', 'python'])
    expect(c).toContainEqual(['deleteProp', 'title'])
    expect(c.filter((x) => x[0] === 'setProp')).toHaveLength(2)
  })

  it('Settings: name, colour, offline, and errors shown', async () => {
    expect(await page.getByTestId('settings-device-id').textContent()).toBe('AAAA-BBBB-CCCC-DDDD')
    await page.getByTestId('settings-name').fill('  ')
    await page.getByTestId('settings-name').press('Enter')
    await expect.poll(() => page.getByText('A display name is 1–64 characters.').count()).toBe(1)
    await page.getByTestId('settings-name').fill('Annie')
    await page.getByTestId('settings-name').press('Enter')
    await page.locator('[data-testid=settings-color][data-color="#0090ff"]').click()
    await expect.poll(() => page.locator('[data-color="#0090ff"]').getAttribute('aria-pressed')).toBe('true')
    await page.getByTestId('settings-offline').check()
    await page.getByTestId('settings-keep-deleted').selectOption('all')
    const c = await calls()
    expect(c).toContainEqual(['setSettings', { displayName: 'Annie' }])
    expect(c).toContainEqual(['setSettings', { color: '#0090ff' }])
    expect(c).toContainEqual(['setSettings', { online: false }])
    expect(c).toContainEqual(['setSettings', { keepDeleted: 'all' }])
    expect(await page.locator('[role=alert]').filter({ hasText: 'display name' }).count()).toBe(0)
  })
})
