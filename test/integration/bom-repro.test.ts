/**
 * Issue 16, reproduced through real processes, sockets, files and a browser: text that begins with
 * U+FEFF (a "byte-order mark" pasted from a file saved as UTF-8 with BOM) must survive every hop.
 *
 * Before the fix the CRDT decoder dropped a leading U+FEFF: the insert "\uFEFFX" was refused by every
 * peer it was sent to, and by the node's own op log after a restart, where the record was skipped and
 * every later edit ("Y") waited for it for ever; the document came back as "abc\n".
 *
 * 1. One `meshpad peer` process on a real file and data dir, scripted on stdin, then started again.
 * 2. Two `meshpad peer` processes over TCP + Noise: one types, the other converges, restarts alone
 *    (its peer is down, so what it shows comes from its own disk) and still has the same text.
 * 3. Browser mode: a node with its web host (what `meshpad serve` runs) and Chromium on it; U+FEFF
 *    typed at the start of the editor reaches the node, its disk, and the editor again after a restart
 *    of the node on the same data dir. Needs `npm run build` first (npm test does), like test/e2e.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { AppService } from '../../src/main/hosts/app-service'
import { startWebHost } from '../../src/main/hosts/web-host'
import { PeerNode } from '../../src/main/node/peer-node'
import { DurableDoc } from '../../src/main/storage/durable-doc'
import { FileStore } from '../../src/main/storage/file-store'
import { launchChromium } from '../support/chromium'
import { rendererDir, stopSide, type Side } from '../support/e2e'
import { CliPeer, killAllPeers, waitForConvergence, type DocView } from './cli-peer'

const BOM = '\uFEFF'
/** The script: the insert is a JSON string, so the CLI gets the escape, not a raw U+FEFF. */
const INSERT_BOM_X = 'edit insert 0 "\\ufeffX"'
const INSERT_Y = 'edit insert 0 "Y"'

const parseView = (lines: readonly string[]): DocView => JSON.parse(lines[lines.length - 1]!) as DocView

describe('issue 16 through `meshpad peer` processes', () => {
  afterEach(killAllPeers)

  it('one peer on a real file: "\\uFEFFX", save, "Y" — and a second start shows the same text and version', async () => {
    // printf 'abc\n' > a.txt; meshpad peer --file a.txt --data-dir d --no-discovery
    const a = await CliPeer.start({ name: 'a', text: 'abc\n' })
    const answers = await a.send([INSERT_BOM_X, 'save', INSERT_Y, 'view --json'])
    const first = parseView(answers[3]!)
    expect(first.text).toBe(`Y${BOM}Xabc\n`)
    // The file holds what was saved (U+FEFF as its UTF-8 bytes EF BB BF, perhaps after a BOM of the file's).
    expect([`${BOM}Xabc\n`, `${BOM}${BOM}Xabc\n`]).toContain(await readFile(a.file, 'utf8'))
    await a.close() // `exit`

    await a.restart()
    const second = await a.view()
    // Before the fix: "abc\n" (the "\uFEFFX" record undecodable, "Y" parked for ever).
    expect(second.text).toBe(first.text)
    expect(second.version).toEqual(first.version)
    await a.close()
  }, 60_000)

  it('two peers over TCP: the other peer converges, and still has the text after restarting alone', async () => {
    const alice = await CliPeer.start({ name: 'alice', text: 'abc\n' })
    const bob = await CliPeer.start({ name: 'bob' })
    await bob.join(await alice.invite())
    await waitForConvergence([alice, bob], 10_000)

    await alice.send([INSERT_BOM_X, INSERT_Y])
    // Before the fix bob refused the batch of "\uFEFFX" (and so parked "Y"): this timed out.
    const { view } = await waitForConvergence([alice, bob], 10_000)
    expect(view.text).toBe(`Y${BOM}Xabc\n`)

    // Alice goes away first, so what bob shows after his restart comes from his own disk.
    await alice.close()
    await bob.close()
    await bob.restart()
    const reopened = await bob.view()
    expect(reopened.text).toBe(view.text)
    expect(reopened.version).toEqual(view.version)

    // And once alice is back they are still one document.
    await alice.restart()
    const again = await waitForConvergence([alice, bob], 15_000)
    expect(again.view.text).toBe(view.text)
    expect(again.view.version).toEqual(view.version)
  }, 90_000)
})

/** A node with browser mode in front of it and a page on it (test/support/e2e.ts), on a given data dir. */
async function startBrowserSide(context: BrowserContext, dataDir: string): Promise<Side> {
  const node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 500 })
  const service = new AppService({ node, host: 'browser', version: 'test', dataDir, watchDebounceMs: 50 })
  const web = await startWebHost({ service, rendererDir })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text())
  })
  await page.goto(web.url)
  await page.getByTestId('start').waitFor({ state: 'visible' })
  return { node, service, web, page, errors }
}

/**
 * The editor's text from its CodeMirror state, exactly: the DOM shows U+FEFF as a placeholder widget
 * (highlightSpecialChars), so the rendered lines cannot say whether it is there.
 */
function editorState(page: Page): Promise<string | null> {
  return page.locator('.live .cm-content').evaluate((el) => {
    interface Tile {
      readonly root?: { readonly view?: { readonly state: { readonly doc: { toString(): string } } } }
    }
    const tile = (el as unknown as { cmTile?: Tile }).cmTile
    return tile?.root?.view?.state.doc.toString() ?? null
  })
}

/** Opens a file or a document ID from the start screen; resolves with the document's ID. */
async function openTarget(page: Page, target: string): Promise<string> {
  await page.getByTestId('target').fill(target)
  await page.getByTestId('open').click()
  await page.locator('.live .cm-content').waitFor({ state: 'visible' })
  return page.getByTestId('doc-id').innerText()
}

describe('issue 16 in browser mode (node + web host + Chromium)', () => {
  let context: BrowserContext | undefined
  let side: Side | undefined
  const folders: string[] = []

  afterAll(async () => {
    await context?.close()
    await stopSide(side)
    for (const f of folders) await rm(f, { recursive: true, force: true })
  })

  it('U+FEFF typed at the start of the editor reaches the node and its disk, and the editor after a restart', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'meshpad-bom-'))
    folders.push(folder)
    const dataDir = join(folder, 'data')
    const file = join(folder, 'bom.txt')
    await writeFile(file, 'abc\n')
    context = await launchChromium()
    side = await startBrowserSide(context, dataDir)
    const docId = await openTarget(side.page, file)
    expect(docId).toMatch(/^[0-9a-f]{32}$/)
    await expect.poll(() => editorState(side!.page), { timeout: 10_000 }).toBe('abc\n')

    await side.page.locator('.live .cm-content').click()
    await side.page.keyboard.press('Control+Home')
    await side.page.keyboard.insertText(`${BOM}X`)
    expect(await editorState(side.page)).toBe(`${BOM}Xabc\n`)
    // The editor shows the character as a placeholder named for it.
    const shown = side.page.locator('.live .cm-content .cm-specialChar').first()
    expect(await shown.getAttribute('title')).toMatch(/no-break space/i)
    // Before the fix the node refused the editor's batch: its text stayed "abc\n".
    const node = side.node
    await expect.poll(() => node.workspace.doc(docId)?.text, { timeout: 10_000 }).toBe(`${BOM}Xabc\n`)
    expect(side.errors).toEqual([])

    // Stop everything (what SIGTERM does to `meshpad serve`), then read the document from its disk.
    await stopSide(side)
    side = undefined
    const store = new FileStore({ dir: join(dataDir, 'docs') })
    const onDisk = await DurableDoc.open(store, docId)
    expect(onDisk.text.toString()).toBe(`${BOM}Xabc\n`)
    expect(onDisk.warnings).toEqual([])
    await onDisk.close()
    await store.close()

    // Start again on the same data dir and open the document (by ID: opening the file would make the
    // file's text win, by design, and it does not hold the unsaved edit): the editor has the text as typed.
    side = await startBrowserSide(context, dataDir)
    expect(await openTarget(side.page, docId)).toBe(docId)
    await expect.poll(() => editorState(side!.page), { timeout: 10_000 }).toBe(`${BOM}Xabc\n`)
    expect(side.node.workspace.doc(docId)?.text).toBe(`${BOM}Xabc\n`)
    expect(side.errors).toEqual([])
  }, 90_000)
})
