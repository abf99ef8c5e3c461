/**
 * Test support: whole PeerNodes in this process, each on its own temp data dir, listening on 127.0.0.1
 * and talking real TCP + Noise to each other. For the measurements that need a node's insides (bytes
 * on the wire, heap, 'text' events); everything else runs the CLI in child processes (cli-peer.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeInvite } from '../../src/main/node/invite-code'
import type { DocSession } from '../../src/main/node/doc-session'
import { PeerNode, type PeerNodeOptions } from '../../src/main/node/peer-node'
import type { Role } from '../../src/shared/sync/messages'
import { toHex } from '../../src/shared/sync/hex'
import { HOST, until } from './util'

export interface TcpNode {
  readonly name: string
  readonly dir: string
  readonly node: PeerNode
  /** Hex of the device key, as the workspace names peers. */
  readonly self: string
  readonly log: NodeLog
}

/** The node's log lines, the first 2,000 kept (a hostile peer could otherwise fill memory), all counted. */
export interface NodeLog {
  readonly lines: string[]
  count: number
}

const MAX_LOGS = 2000

export class TcpCluster {
  readonly nodes: TcpNode[] = []
  private readonly dirs: string[] = []

  /** A node on a fresh data dir (or on `dir`, to start one again on the same data). */
  async start(name: string, options: Partial<PeerNodeOptions> = {}, dir?: string): Promise<TcpNode> {
    if (dir === undefined) {
      dir = await mkdtemp(join(tmpdir(), `meshpad-int-${name}-`))
      this.dirs.push(dir)
    }
    const log: NodeLog = { lines: [], count: 0 }
    const node = await PeerNode.start({
      dataDir: dir,
      name,
      host: HOST,
      port: 0,
      antiEntropyMs: 0,
      log: (m) => {
        log.count++
        if (log.lines.length < MAX_LOGS) log.lines.push(m)
      },
      ...options,
    })
    const entry: TcpNode = { name, dir, node, self: toHex(node.identity.publicKey), log }
    this.nodes.push(entry)
    return entry
  }

  /** Closes a node and starts it again on the same data dir (on a new port) with `options`. */
  async restart(entry: TcpNode, options: Partial<PeerNodeOptions> = {}): Promise<TcpNode> {
    this.nodes.splice(this.nodes.indexOf(entry), 1)
    await entry.node.close()
    const again = await this.start(entry.name, options, entry.dir)
    // Documents reopen in the background (PeerNode.start); the tests look at them right away.
    await again.node.docsOpened
    return again
  }

  /** `owner` creates a document holding `text`. */
  async createDoc(owner: TcpNode, text: string): Promise<DocSession> {
    const doc = await owner.node.workspace.createDoc('shared.txt')
    if (text) await doc.insert(0, text)
    return doc
  }

  /**
   * `joiner` dials `owner` (kept connected by its dialer, as the CLI's `join` does) and redeems a fresh
   * invite; resolves with the joiner's copy of the document once it holds the owner's text.
   */
  async join(owner: TcpNode, joiner: TcpNode, docId: string, role: Role = 'editor'): Promise<DocSession> {
    const ws = joiner.node.workspace
    const code = await owner.node.workspace.createInvite(docId, role, owner.node.addresses())
    const invite = decodeInvite(code)
    const result = new Promise<void>((resolve, reject) => {
      const onResult = (id: string, ok: boolean, reason: string): void => {
        if (id !== docId) return
        ws.off('join-result', onResult)
        if (ok) resolve()
        else reject(new Error(`${joiner.name} could not join: ${reason}`))
      }
      ws.on('join-result', onResult)
    })
    joiner.node.add(HOST, owner.node.port)
    await until(
      `${joiner.name} connected to ${owner.name}`,
      () => ws.session(owner.self)?.ready === true,
      10_000,
    )
    ws.redeemWith(ws.session(owner.self)!, invite)
    await result
    const ownerDoc = owner.node.workspace.doc(docId)!
    await until(`${joiner.name} synced`, () => ws.doc(docId)?.text === ownerDoc.text, 10_000)
    return ws.doc(docId)!
  }

  async closeAll(): Promise<void> {
    const nodes = this.nodes.splice(0)
    await Promise.all(nodes.map((n) => n.node.close().catch(() => undefined)))
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  }
}
