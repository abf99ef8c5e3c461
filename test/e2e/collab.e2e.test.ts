/**
 * End to end: two real nodes (each with its own data dir, TCP on 127.0.0.1, no discovery), each with
 * browser mode in front of it, and a Chromium page on each — the whole path of a keystroke from one
 * editor through both nodes into the other editor. Run `npm run build` first (npm test does).
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { decodeInvite } from '../../src/main/node/invite-code'
import { artifactPath, launchChromium } from '../support/chromium'
import { editorText, startSide, stopSide, typeAtEnd, until, type Side } from '../support/e2e'

function httpStatus(port: number, path: string, host = `127.0.0.1:${port}`): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

function wsOutcome(url: string, origin: string): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin })
    ws.on('open', () => {
      ws.close()
      resolve('open')
    })
    ws.on('error', () => resolve('refused'))
  })
}

describe('two nodes, two browser windows', () => {
  // A browser each: a page behind another in one browser gets its frames throttled.
  let contexts: BrowserContext[] = []
  let a: Side
  let b: Side
  let docId: string
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-e2e-files-'))
  const file = join(dir, 'notes.md')

  beforeAll(async () => {
    writeFileSync(file, '# Notes\n')
    contexts = await Promise.all([launchChromium(), launchChromium()])
    ;[a, b] = await Promise.all([startSide(contexts[0]!, 'alice'), startSide(contexts[1]!, 'bob')])
    // Alice opens a file; Bob joins its document with an invite, then opens it by ID.
    await a.page.getByTestId('target').fill(file)
    await a.page.getByTestId('open').click()
    docId = await a.page.getByTestId('doc-id').innerText()
    expect(docId).toMatch(/^[0-9a-f]{32}$/)
    const code = await a.node.workspace.createInvite(docId, 'editor', a.node.addresses())
    const invite = decodeInvite(code)
    b.node.add(a.node.addresses()[0]!.host, a.node.port)
    await until(() => b.node.workspace.session(invite.inviterKey)?.ready === true, 'the session')
    const joined = new Promise<boolean>((resolve) =>
      b.node.workspace.once('join-result', (_id, ok) => resolve(ok)),
    )
    b.node.workspace.redeemWith(b.node.workspace.session(invite.inviterKey)!, invite)
    expect(await joined).toBe(true)
    await b.page.getByTestId('target').fill(docId)
    await b.page.getByTestId('open').click()
  })

  afterAll(async () => {
    for (const context of contexts) await context.close()
    for (const side of [a, b]) await stopSide(side)
  })

  it('shows typing in one window in the other', async () => {
    await expect.poll(() => editorText(b.page)).toBe('# Notes\n')
    await typeAtEnd(a.page, 'Hello from Alice')
    await expect.poll(() => editorText(b.page)).toBe('# Notes\nHello from Alice')
    await expect.poll(() => a.page.getByTestId('peers').innerText()).toBe('1 peer')
    await expect.poll(() => a.page.getByTestId('online').innerText()).toBe('Online')
  })

  it('converges when both type at once', async () => {
    await a.page.locator('.cm-content').click()
    await a.page.keyboard.press('Control+End')
    await a.page.keyboard.press('Enter')
    await b.page.locator('.cm-content').click()
    await b.page.keyboard.press('Control+Home')
    await Promise.all([
      a.page.keyboard.type('alice types here', { delay: 5 }),
      b.page.keyboard.type('bob types there ', { delay: 5 }),
    ])
    await expect.poll(async () => (await editorText(a.page)) === (await editorText(b.page))).toBe(true)
    const text = await editorText(a.page)
    expect(text).toContain('alice types here')
    expect(text).toContain('bob types there ')
    await expect.poll(() => a.node.workspace.doc(docId)!.text).toBe(text)
    await expect.poll(() => b.node.workspace.doc(docId)!.text).toBe(text)
  })

  it('undoes only the edits of the window that undoes', async () => {
    await typeAtEnd(a.page, ' [A]')
    await b.page.locator('.cm-content').click()
    await b.page.keyboard.press('Control+Home')
    await b.page.keyboard.type('[B] ')
    await expect.poll(() => editorText(a.page)).toContain('[B] ')
    await a.page.keyboard.press('Control+z')
    await expect.poll(() => editorText(a.page)).not.toContain('[A]')
    await expect.poll(() => editorText(b.page)).not.toContain('[A]')
    expect(await editorText(a.page)).toContain('[B] ')
    expect(await editorText(b.page)).toContain('[B] ')
    await a.page.keyboard.press('Control+y')
    await expect.poll(() => editorText(b.page)).toContain('[A]')
  })

  it('saves the document to its file', async () => {
    await expect.poll(() => a.page.getByTestId('saved').innerText()).toBe('Unsaved')
    const text = await editorText(a.page)
    await a.page.getByTestId('save').click()
    await expect.poll(() => a.page.getByTestId('saved').innerText()).toBe('Saved')
    expect(readFileSync(file, 'utf8')).toBe(a.node.workspace.doc(docId)!.text)
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('merges a change another program makes to the file, keeping unsaved edits', async () => {
    await typeAtEnd(b.page, ' (unsaved)')
    await expect.poll(() => editorText(a.page)).toContain('(unsaved)')
    writeFileSync(file, 'EXTERNAL\n' + readFileSync(file, 'utf8'))
    for (const side of [a, b]) {
      await expect.poll(() => editorText(side.page)).toMatch(/^EXTERNAL\n[^]*\(unsaved\)$/)
    }
    expect(await editorText(a.page)).toBe(await editorText(b.page))
    await expect.poll(() => a.node.workspace.doc(docId)!.text).toBe(await editorText(a.page))
    // The file holds the external change but not Bob's edit: still unsaved.
    await expect.poll(() => a.page.getByTestId('saved').innerText()).toBe('Unsaved')
  })

  it('refuses requests and sockets without the token or from elsewhere', async () => {
    const { port, token } = a.web
    expect(await httpStatus(port, '/')).toBe(403)
    expect(await httpStatus(port, '/?token=' + '0'.repeat(64))).toBe(403)
    expect(await httpStatus(port, '/assets/')).toBe(403)
    expect(await httpStatus(port, `/${token}/`)).toBe(200)
    expect(await httpStatus(port, `/?token=${token}`)).toBe(302)
    // DNS rebinding: the right token under another Host name is still refused.
    expect(await httpStatus(port, `/${token}/`, `evil.example:${port}`)).toBe(421)
    const origin = `http://127.0.0.1:${port}`
    expect(await wsOutcome(`ws://127.0.0.1:${port}/${token}/ws`, origin)).toBe('open')
    expect(await wsOutcome(`ws://127.0.0.1:${port}/${token}/ws`, 'http://evil.example')).toBe('refused')
    expect(await wsOutcome(`ws://127.0.0.1:${port}/${'0'.repeat(64)}/ws`, origin)).toBe('refused')
  })

  it('runs under the strict CSP without errors, and looks right in light and dark', async () => {
    expect(a.errors).toEqual([])
    expect(b.errors).toEqual([])
    for (const scheme of ['light', 'dark'] as const) {
      await a.page.emulateMedia({ colorScheme: scheme })
      const shot = artifactPath(`screenshots/editor-${scheme}.png`)
      mkdirSync(dirname(shot), { recursive: true })
      await a.page.screenshot({ path: shot })
      expect(statSync(shot).size).toBeGreaterThan(1000)
    }
    const background = await a.page
      .locator('.cm-editor')
      .evaluate((el) => getComputedStyle(el).backgroundColor)
    expect(background).toBe('rgb(30, 31, 34)')
  })
})
