/**
 * Browser mode's API socket (web-host.ts): requests start in the order they came, and one that waits
 * (here a join whose inviter is gone, which waits up to 15 s for it) holds up none after it. Before,
 * a tab's requests ran one at a time, so while such a join waited the tab could not even type: each
 * keystroke's ops waited behind it. A tab that goes gives its replicas back: a reload takes its
 * replica up again, where each reload added one that the document carried for good.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { AppService } from '../../../src/main/hosts/app-service'
import { startWebHost, type WebHost } from '../../../src/main/hosts/web-host'
import { PeerNode } from '../../../src/main/node/peer-node'
import { decodeWire, encodeWire } from '../../../src/shared/wire-json'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `meshpad-web-host-${name}-`))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function startNode(name: string): Promise<PeerNode> {
  const node = await PeerNode.start({ dataDir: await tempDir(name), name, host: '127.0.0.1' })
  cleanups.push(() => node.close())
  return node
}

/** A tab's socket: requests by id, and the order their replies came in. */
async function openTab(web: WebHost): Promise<{
  ask: (id: number, method: string, ...args: unknown[]) => Promise<{ ok: boolean; value?: unknown }>
  order: number[]
  close: () => void
}> {
  const ws = new WebSocket(`ws://127.0.0.1:${web.port}/${web.token}/ws`, {
    origin: `http://127.0.0.1:${web.port}`,
  })
  cleanups.push(async () => ws.close())
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const order: number[] = []
  const waiting = new Map<number, (result: { ok: boolean }) => void>()
  ws.on('message', (data: Buffer) => {
    const wire = decodeWire(new Uint8Array(data)) as { kind: string; id: number; result: { ok: boolean } }
    if (wire.kind !== 'reply') return
    order.push(wire.id)
    waiting.get(wire.id)?.(wire.result)
  })
  const ask = (id: number, method: string, ...args: unknown[]): Promise<{ ok: boolean }> =>
    new Promise((resolve) => {
      waiting.set(id, resolve)
      ws.send(encodeWire({ id, method, args }))
    })
  return { ask, order, close: () => ws.close() }
}

async function startApp(node: PeerNode): Promise<WebHost> {
  const dataDir = await tempDir(`${node.workspace.name}-app`)
  const rendererDir = await tempDir('renderer')
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>test</title>')
  const service = new AppService({ node, host: 'browser', version: 'test', dataDir })
  cleanups.push(async () => service.close())
  const web = await startWebHost({ service, rendererDir })
  cleanups.push(() => web.close())
  return web
}

it("a join waiting for an inviter who is gone does not hold up the tab's other requests", async () => {
  // An invite whose inviter then goes away: the join waits for it (peer-node.ts, up to 15 s).
  const inviter = await startNode('inviter')
  const shared = await inviter.workspace.createDoc('Gone')
  const code = await inviter.workspace.createInvite(shared.docId, 'editor', inviter.addresses())
  await inviter.close()

  const node = await startNode('ada')
  const tab = await openTab(await startApp(node))

  const joining = tab.ask(1, 'joinWithInvite', code)
  const started = performance.now()
  const opened = await tab.ask(2, 'newDocument', 'Mine')
  expect(opened.ok).toBe(true)
  expect(await tab.ask(3, 'appInfo')).toMatchObject({ ok: true })
  expect(performance.now() - started).toBeLessThan(5_000)
  expect(tab.order).toEqual([2, 3]) // the join is still waiting
  void joining
}, 30_000)

it('a tab that reloads takes up the replica its page had before', async () => {
  const node = await startNode('ada')
  const web = await startApp(node)
  const before = await openTab(web)
  const made = (await before.ask(1, 'newDocument', 'Reloaded')) as {
    value: { docId: string; replica: string }
  }
  const { docId, replica } = made.value
  before.close() // the page goes: its socket closes, and the node hears it
  const after = await openTab(web)
  const taken = async (): Promise<string> =>
    ((await after.ask(2, 'openDocument', docId)) as { value: { replica: string } }).value.replica
  const end = Date.now() + 5_000
  let again = await taken()
  while (again !== replica && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20))
    again = await taken()
  }
  expect(again).toBe(replica)
})
