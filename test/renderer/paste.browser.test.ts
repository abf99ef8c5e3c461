/**
 * A 1 MB paste must leave the editor as one op span, not a million one-character ops: a real
 * EditorView in Chromium, bound with textDocSync, gets one transaction inserting 1,048,576 UTF-16 units
 * (non-ASCII and surrogate pairs included); the binding must push exactly one batch holding exactly one
 * insert op of that length, and a fresh replica applying it must end with the editor's text.
 */
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TextDoc } from '../../src/shared/crdt'
import { InsertOp } from '../../src/shared/crdt/ops'
import { decodeTextOps } from '../../src/shared/crdt/text-codec'
import { launchChromium } from '../support/chromium'
import { bundlePage } from '../support/page-bundle'
import type { PasteResult } from './paste-page'

const PASTE_UNITS = 1024 * 1024

/** Realistic mixed text: code, accented prose, CJK and emoji (surrogate pairs), cut to `units`. */
function pasteText(units: number): string {
  const lines = [
    'export function total(items: Item[]): number { return items.reduce((s, i) => s + i.price, 0) }',
    'Café, naïve, façade — “quoted” déjà vu; Straße and Ærø.',
    '日本語のテキストと中文文本, 한국어 텍스트.',
    'Emoji: 😀 🎉 👩‍💻 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters, 🇫🇷 flags.',
  ]
  const parts: string[] = []
  let length = 0
  for (let i = 0; length < units; i++) {
    const line = `${i}: ${lines[i % lines.length]}`
    parts.push(line)
    length += line.length + 1
  }
  let text = parts.join('\n').slice(0, units)
  // Never end on half a surrogate pair: the replica refuses lone surrogates.
  if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1) + '.'
  return text
}

describe('binding: a 1 MB paste', () => {
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    const bundle = bundlePage(join(import.meta.dirname, 'paste-page.ts'))
    context = await launchChromium()
    page = await context.newPage()
    await page.setContent('<!doctype html><meta charset="utf-8"><body></body>')
    await page.addScriptTag({ content: bundle })
  })

  afterAll(async () => {
    await context?.close()
  })

  it('becomes one batch with one insert op of 1,048,576 UTF-16 units', async () => {
    const paste = pasteText(PASTE_UNITS)
    expect(paste.length).toBe(PASTE_UNITS)
    expect(paste).toMatch(/[\uD800-\uDBFF][\uDC00-\uDFFF]/)
    const start = 'line one\nline two\nline three\n'
    const result = (await page.evaluate(
      ([s, p]) => (window as unknown as { pasteInto(s: string, p: string): PasteResult }).pasteInto(s!, p!),
      [start, paste],
    )) as PasteResult
    const mid = start.length >> 1
    const expected = start.slice(0, mid) + paste + start.slice(mid)
    expect(result.viewText === expected).toBe(true)
    expect(result.replicaText === expected).toBe(true)

    expect(result.pushed).toHaveLength(1)
    const batch = new Uint8Array(Buffer.from(result.pushed[0]!, 'base64'))
    const { ops } = decodeTextOps(batch)
    expect(ops).toHaveLength(1)
    const op = ops[0]!
    expect(op).toBeInstanceOf(InsertOp)
    expect(op.length).toBe(PASTE_UNITS)
    expect((op as InsertOp).text === paste).toBe(true)
    // The batch is the text plus a few bytes of header: no per-character overhead.
    expect(batch.length).toBeLessThan(Buffer.byteLength(paste) + 256)

    const fresh = new TextDoc('fresh')
    fresh.applyRemote(new Uint8Array(Buffer.from(result.base, 'base64')))
    fresh.applyRemote(batch)
    expect(fresh.toString() === expected).toBe(true)
  })
})
