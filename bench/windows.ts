/**
 * `npm run bench -- windows`: a keystroke from one window to another, through two real `meshpad serve`
 * processes (each a PeerNode with browser mode, as a person runs it), beside the same keystrokes from
 * node to node.
 *
 * Window → window: Alice's page and Bob's page run in one Chromium (one process, so one clock:
 * `performance.timeOrigin + performance.now()`, which the bench also checks against its own). A
 * keydown listener in Alice's page stamps each key; a MutationObserver in Bob's page stamps the moment
 * his editor's DOM holds it (not the paint). Between the two, each page stamps the WebSocket frames it
 * sends and receives, so the time splits into Alice's page, the nodes and the wire, and Bob's page.
 * Node → node: two PeerNodes in this process over encrypted loopback TCP, the same keystrokes at the
 * same pace, from `doc.insert()` on one to 'text' emitted on the other.
 * Target (issue 13): window → window p50 under 5 ms, p99 under 16 ms.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { decodeInvite } from '../src/main/node/invite-code'
import { PeerNode } from '../src/main/node/peer-node'
import { findChromium } from '../test/support/chromium'
import { spawnServe } from '../test/support/serve'
import { percentile } from './stats'
import type { BenchSuite } from './suites'

const KEYS = 200
const INTERVAL_MS = 40
const TARGET_P50_MS = 5
const TARGET_P99_MS = 16

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const fmt = (xs: readonly number[]): string =>
  `p50 ${percentile(xs, 50).toFixed(2).padStart(6)} ms  p99 ${percentile(xs, 99).toFixed(2).padStart(6)} ms`

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`)
    await sleep(20)
  }
}

interface Serve {
  readonly proc: ChildProcess
  readonly url: string
  readonly dir: string
}

/** `meshpad serve` as a person starts it (no discovery: the bench connects the two by invite). */
async function startServe(name: string): Promise<Serve> {
  const dir = await mkdtemp(join(tmpdir(), `meshpad-bench-windows-${name}-`))
  const args = ['--data-dir', dir, '--no-discovery', '--host', '127.0.0.1', '--name', name]
  return { ...(await spawnServe(args)), dir }
}

async function stopServe(s: Serve | undefined): Promise<void> {
  if (!s) return
  if (s.proc.exitCode === null) {
    const exited = new Promise((r) => s.proc.once('exit', r))
    s.proc.kill('SIGTERM')
    await exited
  }
  await rm(s.dir, { recursive: true, force: true })
}

/**
 * Stamps in a page: keydowns, WebSocket frames out and in, and the editor's text length as it grows.
 * Plain JavaScript in a string: it runs in the page as written (no transpiler helpers).
 */
export const INSTRUMENT = `(() => {
  const clock = () => performance.timeOrigin + performance.now()
  const bench = { keys: [], sent: [], received: [], grew: [] }
  window.__bench = bench
  window.addEventListener('keydown', () => bench.keys.push(clock()), true)
  const Native = window.WebSocket
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols)
      // Added before the app's own listener, so it runs first: the frame's arrival.
      this.addEventListener('message', () => bench.received.push(clock()))
    }
    send(data) {
      bench.sent.push(clock())
      super.send(data)
    }
  }
  let longest = 0
  const watch = () => {
    const content = document.querySelector('.live .cm-content')
    if (!content) return void setTimeout(watch, 10)
    new MutationObserver(() => {
      const t = clock()
      const length = content.textContent.length
      if (length > longest) {
        longest = length
        bench.grew.push([t, length])
      }
    }).observe(content, { subtree: true, childList: true, characterData: true })
  }
  watch()
})()`

interface Stamps {
  keys: number[]
  sent: number[]
  received: number[]
  grew: [number, number][]
}
const stamps = (page: Page): Promise<Stamps> =>
  page.evaluate(() => (window as unknown as { __bench: Stamps }).__bench)

/** This process's clock minus a page's, from the round trip with the least delay. */
async function clockOffset(page: Page): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity }
  for (let i = 0; i < 30; i++) {
    const t0 = performance.timeOrigin + performance.now()
    const p = await page.evaluate(() => performance.timeOrigin + performance.now())
    const t1 = performance.timeOrigin + performance.now()
    if (t1 - t0 < best.rtt) best = { offset: (t0 + t1) / 2 - p, rtt: t1 - t0 }
  }
  return best
}

async function windowToWindow(): Promise<{ total: number[]; a: number[]; nodes: number[]; b: number[] }> {
  let alice: Serve | undefined
  let bob: Serve | undefined
  let browser: Browser | undefined
  if (!existsSync(join(process.cwd(), 'out/renderer/index.html'))) {
    throw new Error('bench: out/renderer is missing: run `npm run build` first (meshpad serve serves it).')
  }
  try {
    ;[alice, bob] = await Promise.all([startServe('alice'), startServe('bob')])
    browser = await chromium.launch({
      executablePath: findChromium(),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
    })
    const pages = await Promise.all(
      [alice, bob].map(async (s) => {
        const context = await browser!.newContext({ viewport: { width: 1000, height: 640 } })
        const page = await context.newPage()
        await page.addInitScript({ content: INSTRUMENT })
        await page.goto(s.url)
        await page.getByTestId('start').waitFor({ state: 'visible' })
        return page
      }),
    )
    const [pa, pb] = pages as [Page, Page]

    // Alice starts a document and invites Bob; Bob joins with the invite, all through the UI.
    await pa.getByTestId('start-new').click()
    await pa.locator('.live .cm-content').click()
    await pa.keyboard.type('Latency: ')
    await pa.getByTestId('tab-share').click()
    await pa.getByTestId('create-invite').click()
    const code = await pa.getByTestId('invite-link').inputValue()
    decodeInvite(code) // a real invite, or this throws
    await pb.getByTestId('tab-nearby').click()
    await pb.getByTestId('invite-input').fill(code)
    await pb.getByTestId('invite-join').click()
    const text = (p: Page): Promise<string> =>
      p.locator('.live .cm-content').evaluate((el) => el.textContent ?? '')
    await until(async () => (await text(pb)) === 'Latency: ', "Bob's window to show the document")
    // Panels closed: the windows as people type in them.
    await pa.getByTestId('tab-share').click()
    await pb.getByTestId('tab-nearby').click()
    await pa.locator('.live .cm-content').click()
    await pa.keyboard.press('Control+End')
    await sleep(500)

    const [oa, ob] = [await clockOffset(pa), await clockOffset(pb)]
    const base = (await text(pb)).length
    for (const p of pages) {
      await p.evaluate(() => {
        const s = (window as unknown as { __bench: Stamps }).__bench
        s.keys.length = s.sent.length = s.received.length = 0
      })
    }
    const start = performance.now()
    for (let i = 0; i < KEYS; i++) {
      await pa.keyboard.press(String.fromCharCode(97 + (i % 26)))
      const next = start + (i + 1) * INTERVAL_MS
      await sleep(Math.max(0, next - performance.now()))
    }
    await until(async () => (await text(pb)).length === base + KEYS, 'every key in Bob’s window')
    const [sa, sb] = [await stamps(pa), await stamps(pb)]
    if (sa.keys.length !== KEYS) throw new Error(`bench: ${sa.keys.length} keydowns for ${KEYS} keys`)
    // Both pages' times on this process's clock (they share one; the offsets only check it).
    const toA = (t: number): number => t + oa.offset
    const toB = (t: number): number => t + ob.offset
    const total: number[] = []
    const inA: number[] = []
    const nodes: number[] = []
    const inB: number[] = []
    for (let i = 0; i < KEYS; i++) {
      const key = toA(sa.keys[i]!)
      const shown = sb.grew.find(([, length]) => length >= base + i + 1)
      if (!shown) throw new Error(`bench: key ${i} never reached Bob's DOM`)
      const dom = toB(shown[0])
      const sent = sa.sent.map(toA).find((t) => t >= key)
      const arrived = sb.received
        .map(toB)
        .filter((t) => t <= dom)
        .pop()
      total.push(dom - key)
      if (sent !== undefined && arrived !== undefined && sent <= dom) {
        inA.push(sent - key)
        nodes.push(arrived - sent)
        inB.push(dom - arrived)
      }
    }
    console.log(
      `  clocks: page offsets ${oa.offset.toFixed(2)} / ${ob.offset.toFixed(2)} ms (round trips ${oa.rtt.toFixed(2)} / ${ob.rtt.toFixed(2)} ms)`,
    )
    return { total, a: inA, nodes, b: inB }
  } finally {
    await browser?.close()
    await Promise.all([stopServe(alice), stopServe(bob)])
  }
}

/** The same keystrokes between two PeerNodes in this process: insert → 'text' on the other. */
async function nodeToNode(): Promise<number[]> {
  const dirs = await Promise.all(['a', 'b'].map((n) => mkdtemp(join(tmpdir(), `meshpad-bench-n2n-${n}-`))))
  const [na, nb] = await Promise.all(
    dirs.map((dataDir, i) => PeerNode.start({ dataDir, name: `n${i}`, host: '127.0.0.1', antiEntropyMs: 0 })),
  )
  try {
    const doc = await na!.workspace.createDoc('bench')
    await doc.insert(0, 'Latency: ')
    const code = await na!.workspace.createInvite(doc.docId, 'editor', na!.addresses())
    const joined = new Promise<void>((resolve, reject) =>
      nb!.workspace.once('join-result', (_id, ok, reason) => (ok ? resolve() : reject(new Error(reason)))),
    )
    nb!.add('127.0.0.1', na!.port)
    const owner = na!.workspace.self
    await until(() => nb!.workspace.session(owner)?.ready === true, 'the session')
    nb!.workspace.redeemWith(nb!.workspace.session(owner)!, decodeInvite(code))
    await joined
    await until(() => nb!.workspace.doc(doc.docId)?.text === doc.text, 'the first sync')
    const other = nb!.workspace.doc(doc.docId)!
    let typed = 0
    const times: number[] = []
    other.on('text', (_changes, origin) => {
      if (origin === 'remote') times.push(performance.now() - typed)
    })
    const start = performance.now()
    for (let i = 0; i < KEYS; i++) {
      typed = performance.now()
      await doc.insert(doc.durable.text.length, String.fromCharCode(97 + (i % 26)))
      await sleep(Math.max(0, start + (i + 1) * INTERVAL_MS - performance.now()))
    }
    await until(() => other.text === doc.text, 'convergence')
    return times
  } finally {
    await Promise.all([na!.close(), nb!.close()])
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  }
}

async function run(): Promise<void> {
  const w = await windowToWindow()
  const n = await nodeToNode()
  const load = loadavg()[0]!.toFixed(1)
  console.log(`  ${KEYS} keys, ${INTERVAL_MS} ms apart, typed at the end of one line (load average ${load})`)
  console.log(`  window → window (keydown → other editor's DOM changed): ${fmt(w.total)}`)
  console.log(`  node → node (insert → 'text' on the other node):        ${fmt(n)}`)
  console.log(`  where window → window goes (${w.a.length} of ${KEYS} keys matched to their frames):`)
  console.log(`    sender page (keydown → WebSocket send):               ${fmt(w.a)}`)
  console.log(`    nodes and sockets (send → other page's frame):       ${fmt(w.nodes)}`)
  console.log(`    receiver page (frame → DOM changed):                 ${fmt(w.b)}`)
  const met = percentile(w.total, 50) < TARGET_P50_MS && percentile(w.total, 99) < TARGET_P99_MS
  console.log(
    `  target: window → window p50 under ${TARGET_P50_MS} ms, p99 under ${TARGET_P99_MS} ms: ${met ? 'met' : 'NOT MET'}`,
  )
}

export const windowsSuite: BenchSuite = {
  name: 'windows',
  description: 'a keystroke from one browser window to another through two `meshpad serve` nodes',
  run,
}
