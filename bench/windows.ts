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
 * Each `meshpad serve` stamps its sockets' reads and writes (bench/serve-stamps.cjs), which splits the
 * middle again: Alice's node, Bob's node (each timed on its own clock), and the sockets between.
 * Node → node: two PeerNodes in this process over encrypted loopback TCP, the same keystrokes at the
 * same pace, from `doc.insert()` on one to 'batch' (applied, handed to its windows) on the other.
 * Target (issue 13): window → window p50 under 5 ms, p99 under 16 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeInvite } from '../src/main/node/invite-code'
import { PeerNode } from '../src/main/node/peer-node'
import { spawnServe } from '../test/support/serve'
import { launchCdpBrowser, type CdpBrowser, type CdpPage } from './cdp-browser'
import { percentile } from './stats'
import { nodesSplit, type NodesSplit, type SocketStamp } from './windows-split'
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
  /** Where it writes its sockets' stamps as it exits (bench/serve-stamps.cjs). */
  readonly stamps: string
}

/** `meshpad serve` as a person starts it (no discovery: the bench connects the two by invite). */
async function startServe(name: string): Promise<Serve> {
  const dir = await mkdtemp(join(tmpdir(), `meshpad-bench-windows-${name}-`))
  const args = ['--data-dir', dir, '--no-discovery', '--host', '127.0.0.1', '--name', name]
  const stamps = `${dir}.stamps.json`
  const node = {
    args: ['--require', join(import.meta.dirname, 'serve-stamps.cjs')],
    env: { MESHPAD_BENCH_STAMPS: stamps },
  }
  return { ...(await spawnServe(args, node)), dir, stamps }
}

/** Stops it; its sockets' stamps, written as it exited. */
async function stopServe(s: Serve | undefined): Promise<SocketStamp[]> {
  if (!s) return []
  if (s.proc.exitCode === null) {
    const exited = new Promise((r) => s.proc.once('exit', r))
    s.proc.kill('SIGTERM')
    await exited
  }
  await rm(s.dir, { recursive: true, force: true })
  const stamps = existsSync(s.stamps) ? (JSON.parse(await readFile(s.stamps, 'utf8')) as SocketStamp[]) : []
  await rm(s.stamps, { force: true })
  return stamps
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
const stamps = async (page: CdpPage): Promise<Stamps> => (await page.evaluate('window.__bench')) as Stamps
/** Whether an element with this test id is on screen. */
const visible = async (page: CdpPage, id: string): Promise<boolean> =>
  (await page.evaluate(`!!document.querySelector('[data-testid="${id}"]')?.checkVisibility()`)) === true
/** Focuses the element `selector` matches; false while there is none. */
const focusOn = async (page: CdpPage, selector: string): Promise<boolean> =>
  (await page.evaluate(
    `(() => { const el = document.querySelector('${selector}'); el?.focus(); return !!el && document.activeElement === el })()`,
  )) === true
const value = async (page: CdpPage, selector: string): Promise<string> =>
  String(await page.evaluate(`document.querySelector('${selector}')?.value ?? ''`))

/** This process's clock minus a page's, from the round trip with the least delay. */
async function clockOffset(page: CdpPage): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity }
  for (let i = 0; i < 30; i++) {
    const t0 = performance.timeOrigin + performance.now()
    const p = (await page.evaluate('performance.timeOrigin + performance.now()')) as number
    const t1 = performance.timeOrigin + performance.now()
    if (t1 - t0 < best.rtt) best = { offset: (t0 + t1) / 2 - p, rtt: t1 - t0 }
  }
  return best
}

interface Split {
  total: number[]
  a: number[]
  nodes: number[]
  b: number[]
  /** Per key of `nodes`: when Alice's page sent its frame, and when Bob's page got its own (this clock). */
  sentAt: number[]
  arrivedAt: number[]
}

/**
 * Types KEYS keys into `pa`, INTERVAL_MS apart, until `pb` shows them all; times each from Alice's
 * keydown to Bob's DOM, split at the WebSocket frames (see INSTRUMENT).
 */
async function typeKeys(pa: CdpPage, pb: CdpPage, text: (p: CdpPage) => Promise<string>): Promise<Split> {
  const [oa, ob] = [await clockOffset(pa), await clockOffset(pb)]
  const base = (await text(pb)).length
  for (const p of [pa, pb]) {
    await p.evaluate('(s => { s.keys.length = s.sent.length = s.received.length = 0 })(window.__bench)')
  }
  const start = performance.now()
  for (let i = 0; i < KEYS; i++) {
    await pa.press(String.fromCharCode(97 + (i % 26)))
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
  const sentAt: number[] = []
  const arrivedAt: number[] = []
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
      sentAt.push(sent)
      arrivedAt.push(arrived)
    }
  }
  console.log(
    `  clocks: page offsets ${oa.offset.toFixed(2)} / ${ob.offset.toFixed(2)} ms (round trips ${oa.rtt.toFixed(2)} / ${ob.rtt.toFixed(2)} ms)`,
  )
  return { total, a: inA, nodes, b: inB, sentAt, arrivedAt }
}

async function windowToWindow(): Promise<{ split: Split; inNodes: NodesSplit }> {
  let alice: Serve | undefined
  let bob: Serve | undefined
  let browser: CdpBrowser | undefined
  let split: Split
  let stamps: SocketStamp[][]
  if (!existsSync(join(process.cwd(), 'out/renderer/index.html'))) {
    throw new Error('bench: out/renderer is missing: run `npm run build` first (meshpad serve serves it).')
  }
  try {
    ;[alice, bob] = await Promise.all([startServe('alice'), startServe('bob')])
    browser = await launchCdpBrowser()
    const pages: CdpPage[] = []
    for (const s of [alice, bob]) {
      const page = await browser.newPage()
      await page.addInitScript(INSTRUMENT)
      await page.goto(s.url)
      await until(() => visible(page, 'start'), 'the start screen')
      pages.push(page)
    }
    const [pa, pb] = pages as [CdpPage, CdpPage]
    const testId = (id: string): string => `[data-testid="${id}"]`
    const content = '.live .cm-content'

    // Alice starts a document and invites Bob; Bob joins with the invite, all through the UI.
    await pa.click(testId('start-new'))
    await until(() => focusOn(pa, content), "Alice's editor")
    await pa.insertText('Latency: ')
    await pa.click(testId('tab-share'))
    await pa.click(testId('create-invite'))
    let code = ''
    await until(async () => (code = await value(pa, testId('invite-link'))) !== '', 'the invite')
    decodeInvite(code) // a real invite, or this throws
    await pb.click(testId('tab-nearby'))
    await until(() => focusOn(pb, testId('invite-input')), "Bob's invite field")
    await pb.insertText(code)
    await pb.click(testId('invite-join'))
    const text = async (p: CdpPage): Promise<string> =>
      String(await p.evaluate(`document.querySelector('${content}')?.textContent ?? ''`))
    await until(async () => (await text(pb)) === 'Latency: ', "Bob's window to show the document")
    // Panels closed: the windows as people type in them.
    await pa.click(testId('tab-share'))
    await pb.click(testId('tab-nearby'))
    await until(() => focusOn(pa, content), "Alice's editor")
    await pa.press('End', true)
    await sleep(500)

    split = await typeKeys(pa, pb, text)
  } finally {
    await browser?.close()
    stamps = await Promise.all([stopServe(alice), stopServe(bob)])
  }
  const port = (s: Serve): number => Number(new URL(s.url).port)
  const [inAlice = [], inBob = []] = stamps
  return { split, inNodes: nodesSplit(split, [port(alice!), port(bob!)], [inAlice, inBob], INTERVAL_MS) }
}

/** A relay process (windows-relay.ts): its page's URL and its TCP port for the other relay. */
async function startRelay(): Promise<{ proc: ChildProcess; url: string; tcpPort: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'windows-relay.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(out.split('\n')[0]!)
    })
    proc.once('exit', (code) => reject(new Error(`bench: the relay exited with ${code}`)))
  })
  const [, http, tcp] = line.split(' ')
  return { proc, url: `http://127.0.0.1:${http}/`, tcpPort: Number(tcp) }
}

/** The floor: the same keys through bare pages and two relays (WebSocket, loopback TCP, WebSocket). */
async function floorToFloor(): Promise<Split> {
  const relays = [await startRelay(), await startRelay()]
  const [ra, rb] = relays as [Awaited<ReturnType<typeof startRelay>>, Awaited<ReturnType<typeof startRelay>>]
  ra.proc.stdin!.write(`${rb.tcpPort}\n`)
  rb.proc.stdin!.write(`${ra.tcpPort}\n`)
  const browser = await launchCdpBrowser()
  try {
    const pages: CdpPage[] = []
    for (const r of relays) {
      const page = await browser.newPage()
      await page.addInitScript(INSTRUMENT)
      await page.goto(r.url)
      pages.push(page)
    }
    const [pa, pb] = pages as [CdpPage, CdpPage]
    await until(() => focusOn(pa, '.cm-content'), 'the floor page')
    await sleep(500)
    const text = async (p: CdpPage): Promise<string> =>
      String(await p.evaluate(`document.querySelector('.cm-content').textContent`))
    return await typeKeys(pa, pb, text)
  } finally {
    await browser.close()
    for (const r of relays) r.proc.kill()
  }
}

/** The same keystrokes between two PeerNodes in this process: insert → 'batch' on the other. */
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
    // 'batch': applied, and handed to the windows (as the serve node hands it to Bob's page).
    other.on('batch', (_batch, origin) => {
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
  const { split: w, inNodes } = await windowToWindow()
  const f = await floorToFloor()
  const n = await nodeToNode()
  const load = loadavg()[0]!.toFixed(1)
  console.log(`  ${KEYS} keys, ${INTERVAL_MS} ms apart, typed at the end of one line (load average ${load})`)
  console.log(`  window → window (keydown → other editor's DOM changed): ${fmt(w.total)}`)
  console.log(
    `  floor: bare pages and relays, same path (no editor, CRDT, log or encryption): ${fmt(f.total)}`,
  )
  console.log(`  node → node (insert → 'batch' on the other node):       ${fmt(n)}`)
  for (const [name, r] of [
    ['Meshpad', w],
    ['floor', f],
  ] as const) {
    console.log(
      `  where ${name}'s window → window goes (${r.a.length} of ${KEYS} keys matched to their frames):`,
    )
    console.log(`    sender page (keydown → WebSocket send):               ${fmt(r.a)}`)
    console.log(`    nodes and sockets (send → other page's frame):       ${fmt(r.nodes)}`)
    console.log(`    receiver page (frame → DOM changed):                 ${fmt(r.b)}`)
  }
  console.log(
    `  where Meshpad's nodes and sockets go (${inNodes.alice.length} keys matched to both nodes' sockets):`,
  )
  console.log(`    Alice's node (page's frame read → sent to Bob's):     ${fmt(inNodes.alice)}`)
  console.log(`    Bob's node (read → frame written to his page):        ${fmt(inNodes.bob)}`)
  console.log(`    sockets (page → node → node → page, the rest):        ${fmt(inNodes.sockets)}`)
  const ratio = (p: number): string => (percentile(w.total, p) / percentile(f.total, p)).toFixed(2)
  console.log(`  Meshpad ÷ floor: p50 ${ratio(50)}×, p99 ${ratio(99)}×`)
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
