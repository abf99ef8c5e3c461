/**
 * One peer of the `mesh` benchmark (bench/mesh.ts), in a process of its own: a real PeerNode that the
 * parent drives over the IPC channel, one command at a time. Nothing crosses that channel while the
 * peers type: every stamp is kept here and sent only when the parent asks for the report.
 *
 * Clock: `performance.timeOrigin + performance.now()` in every process (the parent checks that the
 * processes agree on it). A keystroke is stamped just before `doc.insert()`; a receive is stamped when
 * the DocSession emits 'batch' for it, and only the stamp and the batch are kept then: which ops the
 * batch holds is decoded after the typing, off the measured path.
 */
import { decodeTextOps } from '../src/shared/crdt/text-codec'
import { seededRandom } from '../src/shared/random'
import { toHex } from '../src/shared/sync/hex'
import type { DocSession } from '../src/main/node/doc-session'
import { decodeInvite } from '../src/main/node/invite-code'
import { PeerNode } from '../src/main/node/peer-node'

const HOST = '127.0.0.1'

export type Command =
  | { readonly cmd: 'clock' }
  | { readonly cmd: 'create'; readonly text: string }
  | { readonly cmd: 'invite'; readonly docId: string }
  | { readonly cmd: 'join'; readonly code: string; readonly port: number; readonly text: string }
  | { readonly cmd: 'dial'; readonly ports: readonly number[] }
  | { readonly cmd: 'peers' }
  | {
      readonly cmd: 'type'
      readonly at: number
      readonly keystrokes: number
      readonly intervalMs: number
      readonly seed: number
      readonly finalLength: number
    }
  | { readonly cmd: 'report' }
  | { readonly cmd: 'stop' }

/** A keystroke or a receive: the op's replica and counter, and when (shared clock, ms). */
export type Stamp = [replica: string, counter: number, at: number]

export interface Report {
  readonly typed: Stamp[]
  readonly applied: Stamp[]
  readonly bytesSent: number
  /** CPU time this process used from the first keystroke until every keystroke was in, ms. */
  readonly cpuMs: number
  readonly text: string
}

const clock = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = performance.now()
  while (!cond()) {
    if (performance.now() - start > timeoutMs) throw new Error(`mesh child: timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** The (replica, counter) of every character each batch inserts, stamped with its batch's time. */
function opsOf(batches: readonly Uint8Array[], times: readonly number[]): Stamp[] {
  const out: Stamp[] = []
  batches.forEach((batch, i) => {
    const { replicas, ops } = decodeTextOps(batch)
    for (const op of ops) {
      if (op.kind !== 0) continue
      for (let c = 0; c < op.length; c++) out.push([replicas[op.agent]!, op.counter + c, times[i] ?? NaN])
    }
  })
  return out
}

const [dataDir, name] = process.argv.slice(2) as [string, string]
const node = await PeerNode.start({ dataDir, name, host: HOST, port: 0, antiEntropyMs: 0 })
const ws = node.workspace
let doc: DocSession | undefined
// Filled during the typing only; read after it.
const typed: Stamp[] = []
const localBatches: Uint8Array[] = []
const appliedAt: number[] = []
const appliedBatches: Uint8Array[] = []
/** The connections open when the typing starts: the bytes they send meanwhile are its cost. */
let connections: ReturnType<typeof node.transport.connections> = []
let bytesBefore = 0
let cpuMs = 0

async function typeAll(c: Extract<Command, { cmd: 'type' }>): Promise<void> {
  const d = doc!
  const random = seededRandom(c.seed)
  connections = node.transport.connections()
  bytesBefore = connections.reduce((sum, x) => sum + x.bytesSent, 0)
  d.on('batch', (batch: Uint8Array, origin: string) => {
    if (origin === 'remote') {
      appliedAt.push(clock())
      appliedBatches.push(batch)
    } else localBatches.push(batch)
  })
  // Typists are not in step: each one's first keystroke comes at a random point of the first interval,
  // as each later one does within its own. (All 16 in the same millisecond would measure that
  // millisecond's queue: 240 receives on this machine's cores at once.)
  let next = c.at + c.intervalMs * random()
  await sleep(Math.max(0, c.at - clock()))
  const cpu = process.cpuUsage()
  await sleep(Math.max(0, next - clock()))
  // Keystrokes on a schedule, each without waiting for the one before to be durable: a typist does
  // not wait for the disk (an insert is sent once written, and resolves only after its fsync).
  const inserts: Promise<void>[] = []
  for (let k = 0; k < c.keystrokes; k++) {
    const position = Math.floor(random() * (d.durable.text.length + 1))
    // The op's counter, as bench/sync.ts finds it: the replica's version + 1 (read before the clock).
    const counter = (d.textVersion()[d.durable.replica] ?? 0) + 1
    typed.push([d.durable.replica, counter, clock()])
    inserts.push(d.insert(position, String.fromCharCode(97 + (k % 26))))
    next += c.intervalMs * (0.5 + random())
    await sleep(Math.max(0, next - clock()))
  }
  await Promise.all(inserts)
  // Everyone's keystrokes in: polled here, so the parent hears nothing until they all are.
  await until(() => d.durable.text.length === c.finalLength, 30_000, 'every keystroke')
  const used = process.cpuUsage(cpu)
  cpuMs = (used.user + used.system) / 1000
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'clock':
      return clock()
    case 'create':
      doc = await ws.createDoc('bench')
      await doc.insert(0, c.text)
      return { docId: doc.docId, self: toHex(node.identity.publicKey), port: node.port }
    case 'invite':
      return ws.createInvite(c.docId, 'editor', node.addresses())
    case 'join': {
      // As bench/sync.ts joins: dial the inviter, redeem over that session, wait for the first sync.
      const invite = decodeInvite(c.code)
      const joined = new Promise<void>((resolve, reject) =>
        ws.once('join-result', (_id, ok, reason) => (ok ? resolve() : reject(new Error(reason)))),
      )
      node.add(HOST, c.port)
      await until(() => ws.session(invite.inviterKey)?.ready === true, 10_000, 'the inviter')
      ws.redeemWith(ws.session(invite.inviterKey)!, invite)
      await joined
      await until(() => ws.doc(invite.docId)?.text === c.text, 10_000, 'the first sync')
      doc = ws.doc(invite.docId)!
      // As a window that opens the document does (app-service.ts): its replica's claim and author record
      // go out now, not with the first keystroke. (The creator's went with the initial text.)
      await doc.prepareToEdit()
      return { port: node.port }
    }
    case 'dial':
      for (const port of c.ports) node.add(HOST, port)
      return null
    case 'peers':
      return doc?.peers().length ?? 0
    case 'type':
      await typeAll(c)
      return null
    case 'report': {
      // The ops the local batches carry (written, and sent, not always in the order typed): exactly
      // the keystrokes, or the counters above were wrong.
      const sent = opsOf(localBatches, [])
        .map(([, counter]) => counter)
        .sort((a, b) => a - b)
      const expected = typed.map(([, counter]) => counter).sort((a, b) => a - b)
      if (sent.join() !== expected.join())
        throw new Error(`the ops sent (${sent.length}) are not the keystrokes typed (${expected.length})`)
      const report: Report = {
        typed,
        applied: opsOf(appliedBatches, appliedAt),
        bytesSent: connections.reduce((sum, x) => sum + x.bytesSent, 0) - bytesBefore,
        cpuMs,
        text: doc!.text,
      }
      return report
    }
    case 'stop':
      await node.close()
      return null
  }
}

// One command at a time, each answered with { ok, value } or { ok: false, error }.
let queue = Promise.resolve()
process.on('message', (c: Command) => {
  queue = queue.then(async () => {
    try {
      process.send!({ ok: true, value: await handle(c) })
    } catch (err) {
      process.send!({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    }
    if (c.cmd === 'stop') process.disconnect()
  })
})
// The parent gone (or done): close the node so the process can exit.
process.on('disconnect', () => void node.close())
process.send!({ ok: true, value: 'started' })
