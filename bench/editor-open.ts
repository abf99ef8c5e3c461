/**
 * The open figures of `npm run bench -- editor`: opening a 5 MB and a 10 MB file in Meshpad (browser
 * mode, a file never opened before, through the toolbar as a person does) side by side with the floor,
 * plain CodeMirror (bench/editor-baseline) fetching the same text from its static server and showing it.
 *
 * Both clocks run in the page: from the moment the page asks (the click on Open reaches the page; the
 * baseline's fetch starts) to the frame after the first line is in the editor's DOM (the paint that
 * shows it). So the floor includes moving the text to the page, as Meshpad's open does. Meshpad's time
 * is split into the node's share, timed in this process (LinkedFile.openWith, and the whole openFile
 * request, which adds the document's state for the page), and the rest (total − request: the frame
 * to the page and everything the page does), with the page's main-thread busy time from CDP beside it.
 * Runs alternate between the two editors, so both see the same machine noise; each run is a fresh page.
 * The pages are driven over the bare DevTools protocol (cdp-browser.ts), not Playwright, whose Network
 * domain would make the page copy the 10 MB WebSocket frame into a protocol event.
 */
import { copyFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { AppService } from '../src/main/hosts/app-service'
import type { LinkedFile as LinkedFileClass } from '../src/main/storage/linked-file'
import { launchCdpBrowser, type CdpPage } from './cdp-browser'
import { settle } from './settle'
import { median, rotation, spread } from './stats'

/** Issue 14: a 10 MB file editable within this, beside plain CodeMirror on the same text. */
const EDITABLE_MS = 500

export interface OpenSize {
  readonly label: string
  readonly text: string
}

export interface OpenBenchSetup {
  readonly service: AppService
  /** The Meshpad page's URL (browser mode, token included). */
  readonly meshpadUrl: string
  /** The baseline's static server, and the folder it serves. */
  readonly baselineUrl: string
  readonly baselineDir: string
  /** Where the files Meshpad opens are written (one fresh file per run). */
  readonly dir: string
  readonly runs: number
}

interface Run {
  readonly total: number
  readonly openWith: number
  readonly request: number
  readonly pageBusy: number
}

/**
 * Installed in a page before it opens: records when the page asked (a click on the Open button, or
 * the baseline's own mark) and when the first line showed, a MutationObserver seeing the line in the
 * DOM, then the task after the next frame (as for keystrokes in editor.ts: the frame that paints it).
 */
const watchOpen = (firstLine: string): string => `(() => {
  window.__askedAt = undefined
  window.__shownAt = undefined
  const button = document.querySelector('[data-testid="open"]')
  if (button) button.addEventListener('click', () => { window.__askedAt = performance.now() }, { capture: true, once: true })
  const first = ${JSON.stringify(firstLine)}
  const observer = new MutationObserver(() => {
    const line = document.querySelector('.cm-line')
    if (!line || line.textContent !== first) return
    observer.disconnect()
    requestAnimationFrame(() => {
      const channel = new MessageChannel()
      channel.port1.onmessage = () => { window.__shownAt = performance.now() }
      channel.port2.postMessage(null)
    })
  })
  observer.observe(document.body, { subtree: true, childList: true, characterData: true })
})()`

/** Types `path` into the toolbar's box as a person would (React hears it through the input event). */
const typePath = (path: string): string => `(() => {
  const input = document.querySelector('[data-testid="target"]')
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, ${JSON.stringify(path)})
  input.dispatchEvent(new Event('input', { bubbles: true }))
})()`

/** Waits for the first line to show; the ms since the page asked.  */
async function shownAfterAsking(page: CdpPage): Promise<number> {
  const end = Date.now() + 60_000
  for (;;) {
    const [asked, shown] = (await page.evaluate('[window.__askedAt, window.__shownAt]')) as unknown[]
    if (typeof shown === 'number') {
      if (typeof asked !== 'number') throw new Error('the page never asked for the file')
      return shown - asked
    }
    if (Date.now() > end) throw new Error('timed out waiting for the first line')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * The node's timings of the openFile requests that run while `task` does: LinkedFile.openWith and the
 * whole request (openWith, then the document's state for the page), wrapped for the bench only.
 */
function nodeTimer(service: AppService): { openWith: number[]; request: number[] } {
  const times = { openWith: [] as number[], request: [] as number[] }
  // The instance app-service.ts calls: tsx loads src/ as CommonJS for it, apart from this ES module's
  // imports, so an `import` here would patch a copy the app never calls.
  const { LinkedFile } = createRequire(import.meta.url)('../src/main/storage/linked-file.ts') as {
    LinkedFile: typeof LinkedFileClass
  }
  const openWith = LinkedFile.openWith.bind(LinkedFile)
  LinkedFile.openWith = async (docs, options) => {
    const start = performance.now()
    try {
      return await openWith(docs, options)
    } finally {
      times.openWith.push(performance.now() - start)
    }
  }
  const connect = service.connect.bind(service)
  service.connect = (listener) => {
    const client = connect(listener)
    const openFile = client.openFile
    client.openFile = async (path) => {
      const start = performance.now()
      try {
        return await openFile(path)
      } finally {
        times.request.push(performance.now() - start)
      }
    }
    return client
  }
  return times
}

/** Opens each size `runs` times in each editor, alternating, and prints the table. */
export async function measureOpens(setup: OpenBenchSetup, sizes: readonly OpenSize[]): Promise<void> {
  const times = nodeTimer(setup.service)
  const browser = await launchCdpBrowser()
  try {
    await measure(setup, sizes, times, await browser.newPage(), await browser.newPage())
  } finally {
    await browser.close()
  }
}

async function measure(
  setup: OpenBenchSetup,
  sizes: readonly OpenSize[],
  times: { openWith: number[]; request: number[] },
  meshpad: CdpPage,
  baseline: CdpPage,
): Promise<void> {
  const { runs } = setup
  const results = new Map(sizes.map((s) => [s.label, { meshpad: [] as Run[], baseline: [] as Run[] }]))
  const sources = new Map<string, string>()
  for (const size of sizes) {
    const source = join(setup.dir, `open-${size.label.replace(/\W/g, '')}.txt`)
    writeFileSync(source, size.text)
    sources.set(size.label, source)
    writeFileSync(join(setup.baselineDir, `${size.label.replace(/\W/g, '')}.txt`), size.text)
  }
  let fileNo = 0
  const openMeshpad = async (size: OpenSize): Promise<Run> => {
    // A file never opened before, each time: the first open, which imports the text.
    const file = join(setup.dir, `open-${fileNo++}.txt`)
    copyFileSync(sources.get(size.label)!, file)
    await meshpad.goto(setup.meshpadUrl)
    await meshpad.evaluate(typePath(file))
    await meshpad.evaluate(watchOpen(size.text.slice(0, size.text.indexOf('\n'))))
    const before = { openWith: times.openWith.length, request: times.request.length }
    const busy = await meshpad.busyMs()
    await meshpad.evaluate(`document.querySelector('[data-testid="open"]').click()`)
    const total = await shownAfterAsking(meshpad)
    const pageBusy = (await meshpad.busyMs()) - busy
    const openWith = times.openWith.slice(before.openWith)
    const request = times.request.slice(before.request)
    if (openWith.length !== 1 || request.length !== 1)
      throw new Error(`expected one openFile request: ${openWith.length}, ${request.length}`)
    return { total, openWith: openWith[0]!, request: request[0]!, pageBusy }
  }
  const openBaseline = async (size: OpenSize): Promise<Run> => {
    await baseline.goto(setup.baselineUrl)
    await baseline.evaluate(watchOpen(size.text.slice(0, size.text.indexOf('\n'))))
    const busy = await baseline.busyMs()
    await baseline.evaluate(
      `void window.baselineOpen(${JSON.stringify(`${size.label.replace(/\W/g, '')}.txt`)})`,
    )
    const total = await shownAfterAsking(baseline)
    const pageBusy = (await baseline.busyMs()) - busy
    const length = (await baseline.evaluate('window.baselineView.state.doc.length')) as number
    if (length !== size.text.length) throw new Error('the baseline did not get the whole text')
    return { total, openWith: 0, request: 0, pageBusy }
  }
  for (let round = 0; round < runs; round++) {
    for (const size of sizes) {
      for (const name of rotation(['meshpad', 'baseline'] as const, round)) {
        const run = name === 'meshpad' ? await openMeshpad(size) : await openBaseline(size)
        results.get(size.label)![name].push(run)
        // A second after an edit the node seals its replica (doc-provenance.ts, SEAL_IDLE_MS): for an
        // import that hashes the whole text. Each run starts once that, and this process's garbage,
        // are done with, so that no run is timed with the one before it still working.
        await new Promise((resolve) => setTimeout(resolve, 1500))
        await settle()
      }
    }
  }

  const cell = (xs: readonly number[]): string =>
    `${median(xs).toFixed(0).padStart(5)} (${spread(xs)})`.padEnd(19)
  console.log(
    `  open a file never opened before (page asks → first line painted), ms, median (min–max) of ${runs} alternating runs:`,
  )
  console.log(
    `    ${''.padEnd(6)}${'Meshpad total'.padEnd(19)}${'node openWith'.padEnd(19)}${'node request'.padEnd(19)}` +
      `${'rest (wire+page)'.padEnd(19)}${'page busy'.padEnd(19)}${'floor: plain CM'.padEnd(19)}${'floor busy'.padEnd(19)}ratio`,
  )
  for (const size of sizes) {
    const { meshpad: m, baseline: b } = results.get(size.label)!
    const ratio = median(m.map((r) => r.total)) / median(b.map((r) => r.total))
    console.log(
      `    ${size.label.padEnd(6)}${cell(m.map((r) => r.total))}${cell(m.map((r) => r.openWith))}` +
        `${cell(m.map((r) => r.request))}${cell(m.map((r) => r.total - r.request))}${cell(m.map((r) => r.pageBusy))}` +
        `${cell(b.map((r) => r.total))}${cell(b.map((r) => r.pageBusy))}${ratio.toFixed(2)}×`,
    )
  }
  // Issue 14's goal: the largest file, in the editor and taking keys (the first line painted) in time.
  const largest = sizes.at(-1)!
  const runsOf = results.get(largest.label)!
  const total = median(runsOf.meshpad.map((r) => r.total))
  console.log(
    `  target: a ${largest.label} file editable (its first line painted) in under ${EDITABLE_MS} ms: ` +
      `${total < EDITABLE_MS ? 'met' : 'NOT MET'} (${total.toFixed(0)} ms; plain CodeMirror ` +
      `${median(runsOf.baseline.map((r) => r.total)).toFixed(0)} ms)`,
  )
}
