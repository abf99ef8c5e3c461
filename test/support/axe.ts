/** axe-core, the maintained accessibility checker, run on a page as it is now. */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface Violation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly targets: string[]
}

/** Runs axe on the page as it is once its next frames are drawn (injected through the debugger protocol, so the page's CSP allows it). */
export async function axe(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const run = (window as unknown as { axe: { run: (ctx: Document) => Promise<AxeResults> } }).axe.run
    interface AxeResults {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[]
    }
    // After the page's next frames (at most 250 ms, as a page behind another gets none): a colour scheme
    // just emulated reaches CodeMirror's theme through a media query's change event, which the next
    // frame's rendering step fires; checked before it, the old theme's colours meet the new background.
    await Promise.race([
      new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
      new Promise((resolve) => setTimeout(resolve, 250)),
    ])
    const results = await run(document)
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }))
  })
}
