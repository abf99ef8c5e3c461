/**
 * The window's digest of its text's order, in Chromium: WebCrypto over the shared encoding
 * (src/shared/crdt/order-digest.ts), in a page served from 127.0.0.1 (as browser mode serves the app)
 * under the renderer's own Content-Security-Policy, must be exactly the node's node:crypto digest of the
 * same sequence, or no window could ever hear 'same' from `checkOrder`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TextDoc } from '../../src/shared/crdt'
import { TextOrder } from '../../src/main/node/text-order'
import { launchChromium } from '../support/chromium'
import { bundlePage } from '../support/page-bundle'
import { orderDependent } from '../support/order-dependent'
import { serveStatic, type StaticServer } from '../support/static-server'
import type { PageDigest } from './order-digest-page'

/** The node's digest of `doc`'s order, hex. */
const nodeDigest = (doc: TextDoc): string =>
  Buffer.from(
    new TextOrder({
      text: () => doc,
      rebuild: () => Promise.resolve(false),
      resync: () => undefined,
      log: () => undefined,
    }).digest(),
  ).toString('hex')

describe('the window’s order digest in Chromium', () => {
  let server: StaticServer
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    const bundle = bundlePage(join(import.meta.dirname, 'order-digest-page.ts'))
    // The renderer's own policy (src/renderer/index.html), so that nothing it forbids is relied on.
    const html = readFileSync(join(process.cwd(), 'src/renderer/index.html'), 'utf8')
    const csp = /<meta\s+http-equiv="Content-Security-Policy"[\s\S]*?\/>/.exec(html)?.[0]
    expect(csp).toContain("script-src 'self'")
    const dir = mkdtempSync(join(tmpdir(), 'meshpad-order-page-'))
    writeFileSync(join(dir, 'page.js'), bundle)
    writeFileSync(
      join(dir, 'index.html'),
      `<!doctype html><html><head><meta charset="utf-8">${csp}<script src="page.js"></script></head><body></body></html>`,
    )
    server = await serveStatic(dir)
    context = await launchChromium()
    page = await context.newPage()
    await page.goto(server.url)
  })

  afterAll(async () => {
    await context?.close()
    await server?.close()
  })

  const inPage = (replica: string, batches: readonly Uint8Array[]): Promise<PageDigest> =>
    page.evaluate(
      ([r, b]) =>
        (window as unknown as { orderDigestOf(r: string, b: string[]): Promise<PageDigest> }).orderDigestOf(
          r as string,
          b as string[],
        ),
      [replica, batches.map((batch) => Buffer.from(batch).toString('base64'))] as const,
    )

  it('is the node’s digest of the same sequence, for crafted orders and long, non-ASCII texts', async () => {
    const { inOrder, reordered } = orderDependent()
    const p = new TextDoc('pé')
    const q = new TextDoc('q日本')
    for (let i = 0; i < 6000; i++) {
      q.applyRemote(p.localInsert(p.length, i % 7 === 0 ? '😀' : 'p'))
      p.applyRemote(q.localInsert(q.length, 'q'))
    }
    const cases: [string, Uint8Array[]][] = [
      ['in order', inOrder],
      ['reordered', reordered],
      ['long', [p.changesSince({})]],
      ['empty', []],
    ]
    const digests = new Set<string>()
    for (const [name, batches] of cases) {
      const node = new TextDoc('node')
      for (const batch of batches) node.applyRemote(batch)
      const result = await inPage('window', batches)
      expect(result.secure, name).toBe(true)
      expect(result.text === node.toString(), name).toBe(true)
      expect(result.digest, name).toBe(nodeDigest(node))
      digests.add(result.digest)
    }
    expect(digests.size).toBe(cases.length)
  })
})
