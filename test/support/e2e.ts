/**
 * Helpers for the end-to-end tests: a "side" is one real node (its own data dir, TCP on 127.0.0.1,
 * no discovery) with browser mode in front of it and a Chromium page on it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { AppService } from '../../src/main/hosts/app-service'
import { DEVICE_KEY_FILE } from '../../src/main/net/device-key'
import type { KeyPair } from '../../src/main/net/secure-channel'
import { nodeFs, type StorageFs } from '../../src/main/storage/fs-layer'
import { startWebHost, type WebHost } from '../../src/main/hosts/web-host'
import { PeerNode } from '../../src/main/node/peer-node'

export const rendererDir = join(process.cwd(), 'out/renderer')

export interface Side {
  node: PeerNode
  service: AppService
  web: WebHost
  page: Page
  errors: string[]
}

export interface SideOptions {
  /** The device's key pair (default: a new one), e.g. to give two people the same default colour. */
  readonly keyPair?: KeyPair
  /** The disk the node's documents are on (default: the real one), e.g. a slow one. */
  readonly storageFs?: StorageFs
  /** The node's data dir (default: a new one), e.g. one holding documents made beforehand. */
  readonly dataDir?: string
}

export async function startSide(
  context: BrowserContext,
  name: string,
  options: SideOptions = {},
): Promise<Side> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `meshpad-e2e-${name}-`))
  if (options.keyPair) writeDeviceKey(dataDir, options.keyPair)
  const node = await PeerNode.start({
    dataDir,
    name,
    host: '127.0.0.1',
    antiEntropyMs: 500,
    ...(options.storageFs ? { storageFs: options.storageFs } : {}),
  })
  const service = new AppService({ node, host: 'browser', version: 'test', dataDir, watchDebounceMs: 50 })
  const web = await startWebHost({ service, rendererDir })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text())
  })
  await page.goto(web.url)
  // With a node behind it and no document yet, the window shows the start screen.
  await page.getByTestId('start').waitFor({ state: 'visible' })
  return { node, service, web, page, errors }
}

/** Puts a device key in a data dir, in the file format the node reads (src/main/net/device-key.ts). */
function writeDeviceKey(dataDir: string, keyPair: KeyPair): void {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
  const file = {
    format: 'meshpad-device-key',
    version: 1,
    algorithm: 'ed25519',
    publicKey: hex(keyPair.publicKey),
    secretKey: hex(keyPair.secretKey),
  }
  writeFileSync(join(dataDir, DEVICE_KEY_FILE), JSON.stringify(file), { mode: 0o600 })
}

/** A real disk whose fsyncs take `delay.ms` longer (0 at first), to make a node slow on purpose. */
export function slowDisk(): { fs: StorageFs; delay: { ms: number } } {
  const delay = { ms: 0 }
  const fs: StorageFs = {
    ...nodeFs,
    open: async (path, flags, mode) => {
      const file = await nodeFs.open(path, flags, mode)
      return {
        ...file,
        sync: async () => {
          if (delay.ms > 0) await new Promise((r) => setTimeout(r, delay.ms))
          await file.sync()
        },
      }
    },
  }
  return { fs, delay }
}

/** The editor's text, from its rendered lines (the documents here are small enough to be all rendered). */
export const editorText = (page: Page, editor = '.live:not([hidden]) .cm-content'): Promise<string> =>
  page
    .locator(editor)
    .evaluate((el) =>
      Array.from(el.querySelectorAll('.cm-line'), (line) => line.textContent ?? '').join('\n'),
    )

/** The text of the caret's line before a person's remote caret, or null if it is not shown (labels are not text). */
export const textBeforeCaret = (page: Page, name: string): Promise<string | null> =>
  page.evaluate((who) => {
    const caret = document.querySelector(`.cm-remote-caret[aria-label="${who}'s cursor"]`)
    const line = caret?.closest('.cm-line')
    if (!caret || !line) return null
    const range = document.createRange()
    range.setStart(line, 0)
    range.setEndBefore(caret)
    return range.toString()
  }, name)

/** The text of the history preview (a past version, read-only). */
export const previewText = (page: Page): Promise<string> =>
  editorText(page, '[data-testid=preview] .cm-content')

export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Puts the caret at the end of the document (Ctrl+End), so typing appends. */
export async function typeAtEnd(page: Page, text: string): Promise<void> {
  await page.locator('.live:not([hidden]) .cm-content').click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text)
}

/** Stops a side: its web host, its service and its node. */
export async function stopSide(side: Side | undefined): Promise<void> {
  if (!side) return
  await side.web.close()
  side.service.close()
  await side.node.close()
}

/** Opens a side panel (share, nearby, history, …) unless it is open already. */
export async function openPanel(page: Page, panel: string): Promise<void> {
  const tab = page.getByTestId(`tab-${panel}`)
  if ((await tab.getAttribute('aria-pressed')) !== 'true') await tab.click()
}

/** The owner makes an editor invite in the Share panel; the joiner pastes it in Nearby and joins. */
export async function joinByInvite(owner: Page, joiner: Page): Promise<void> {
  await openPanel(owner, 'share')
  await owner.getByTestId('create-invite').click()
  const code = await owner.getByTestId('invite-link').inputValue()
  await openPanel(joiner, 'nearby')
  await joiner.getByTestId('invite-input').fill(code)
  await joiner.getByTestId('invite-join').click()
}

/** Whom the authorship tooltip names for the first character of `fragment` in the editor (authors on). */
export async function authorOf(page: Page, fragment: string): Promise<string> {
  await page.mouse.move(0, 0)
  await page.locator('.cm-author-tooltip').waitFor({ state: 'detached' })
  const at = await page.evaluate((wanted) => {
    const content = document.querySelector('.live:not([hidden]) .cm-content')!
    const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const i = node.textContent?.indexOf(wanted) ?? -1
      if (i < 0) continue
      const range = document.createRange()
      range.setStart(node, i)
      range.setEnd(node, i + 1)
      const r = range.getBoundingClientRect()
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 }
    }
    return null
  }, fragment)
  if (!at) throw new Error(`${fragment} is not in the editor`)
  await page.mouse.move(at.x, at.y)
  const tip = page.locator('.cm-author-tooltip')
  await tip.waitFor({ state: 'visible' })
  return (await tip.innerText()).split(' · ')[0]!
}
