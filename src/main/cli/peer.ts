/**
 * `meshpad peer`: a headless node with a prompt. It links a local text file to a document (creating
 * the document from the file the first time, reopening it with its history after), or, with
 * `--folder`, a folder to a project (project-cli.ts), and takes the commands of commands.ts from a
 * terminal or, when stdin is not a terminal, line by line from a script.
 * Every command's output ends with a line `ok` or `error: <message>` when scripted, so a driver can
 * tell where one answer ends; events (peers coming and going, join requests) print as they happen.
 */
import { createInterface } from 'node:readline'
import { deviceIdOf } from '../net/device-key'
import type { FaultOptions } from '../net/fault-injection'
import { PeerNode } from '../node/peer-node'
import type { DocSession } from '../node/doc-session'
import { CLI_JOIN, readInvite, requireInviteKind } from '../hosts/invite-text'
import { workspaceDocs } from '../hosts/workspace-files'
import { FileLinks } from '../storage/file-links'
import { nodeFs } from '../storage/fs-layer'
import { LinkedFile } from '../storage/linked-file'
import { displayLabel, displayText, terminalJson } from '../../shared/display-text'
import { fromHex } from '../../shared/sync/hex'
import { CommandError, HELP, parseCommand, type Command } from './commands'
import { ProjectCli } from './project-cli'

export interface PeerOptions {
  readonly dataDir: string
  /** The file to link to a document; or, with `folder`, none. */
  readonly file?: string
  /** The folder to share as a project, or to join one into (with `invite`). */
  readonly folder?: string
  /** An invite to the project to join into `folder` (the first time). */
  readonly invite?: string
  readonly name: string
  readonly port: number
  readonly host: string
  readonly faults: FaultOptions | undefined
  readonly discovery: boolean
  readonly antiEntropyMs: number
  /** Deleted text each document keeps, times its length (Infinity: all of it; text-retention.ts). */
  readonly keepDeleted?: number
}

type Out = (line: string) => void

export class PeerCli {
  /** The file and its document (storage/linked-file.ts: the same code as the app's); null with --folder. */
  private file: LinkedFile<DocSession> | null = null
  /** With --folder: the project and its folder, and the file the commands act on. */
  private folder: ProjectCli | null = null

  private constructor(
    private readonly node: PeerNode,
    private readonly links: FileLinks,
    private readonly options: PeerOptions,
    private readonly out: Out,
  ) {}

  static async start(options: PeerOptions, out: Out): Promise<PeerCli> {
    const node = await PeerNode.start({
      dataDir: options.dataDir,
      name: options.name,
      port: options.port,
      host: options.host,
      antiEntropyMs: options.antiEntropyMs,
      ...(options.keepDeleted !== undefined ? { keepDeleted: options.keepDeleted } : {}),
      discovery: options.discovery,
      ...(options.faults ? { faults: options.faults } : {}),
      log: (m) => out(`log: ${displayLabel(m)}`),
    })
    const cli = new PeerCli(node, new FileLinks(nodeFs, options.dataDir), options, out)
    try {
      if (options.folder !== undefined)
        cli.folder = await ProjectCli.start(node, options.folder, options.dataDir, options.invite, out)
      else await cli.openFile()
    } catch (err) {
      await node.close()
      throw err
    }
    cli.watchEvents()
    // Before the prompt, so a script sees it ahead of its first answer.
    for (const problem of cli.home.durable.problems()) out(`warning: ${problem}`)
    return cli
  }

  get port(): number {
    return this.node.port
  }

  /** The document the editing commands act on: the linked file's, or the project's open file. */
  private get doc(): DocSession {
    return this.folder ? this.folder.current : this.file!.doc
  }

  /** The document whose members and invites the commands act on: the linked file's, or the project. */
  private get home(): DocSession {
    return this.folder ? this.folder.project : this.file!.doc
  }

  /**
   * The document linked to the file: reopened if known (as Meshpad left the file, or with the changes
   * made to it meanwhile merged in), else made from the file's text in one step that a crash cannot
   * split. A file that does not exist yet is linked too, and `save` creates it. The file is not watched:
   * changes made to it while the peer runs are merged at the next start.
   */
  private async openFile(): Promise<void> {
    if (this.options.file === undefined) throw new Error('no file to link')
    this.file = await LinkedFile.openWith(workspaceDocs(this.node), {
      path: this.options.file,
      links: this.links,
      watch: false,
      allowMissing: true,
      onError: (err) => this.out(`log: ${err.message}`),
    })
  }

  private watchEvents(): void {
    const ws = this.node.workspace
    ws.on('join-request', (r) =>
      this.out(
        `event: join request ${r.id} from ${displayLabel(r.name) || 'unnamed'} (${deviceLabel(r.device)})`,
      ),
    )
    ws.on('join-result', (docId, ok, reason) => {
      const joined = ok ? ws.doc(docId) : undefined
      if (joined && this.file) {
        // The file now stands for the joined document: a restart with the same --file reopens it.
        const file = this.file
        file
          .relink(joined)
          .catch((err: unknown) => this.out(`log: could not link ${this.options.file}: ${String(err)}`))
      }
      this.out(`event: join ${ok ? 'succeeded' : 'failed'}: ${displayLabel(reason)}`)
    })
    ws.on('doc-denied', (_docId, _device, code, reason) =>
      this.out(`event: refused (${code}): ${displayLabel(reason)}`),
    )
  }

  /** Runs one command line; returns false when the peer should exit. */
  async run(line: string): Promise<boolean> {
    const command = parseCommand(line)
    if (!command) return true
    return this.execute(command)
  }

  private async execute(c: Command): Promise<boolean> {
    const ws = this.node.workspace
    const out = this.out
    switch (c.name) {
      case 'help':
        out(HELP)
        break
      case 'add':
        this.node.add(c.host, c.port)
        out(`dialing ${c.host}:${c.port} (kept connected; see peers)`)
        break
      case 'insert':
        await this.doc.insert(c.pos, c.text)
        break
      case 'delete':
        await this.doc.delete(c.pos, c.length)
        break
      case 'view':
        out(c.json ? terminalJson({ text: this.doc.text, version: this.doc.textVersion() }) : this.doc.text)
        break
      case 'save': {
        if (this.folder) {
          await this.folder.flush()
          out(`folder ${this.folder.dir} written`)
          break
        }
        // `save <path>` writes a copy; the file stays linked to --file.
        const file = this.file!
        const path = c.path ?? this.options.file
        const length = this.doc.durable.text.length
        await (c.path ? file.saveCopy(c.path) : file.save())
        out(`saved ${length} characters to ${path}`)
        break
      }
      case 'sync':
        ws.syncAll()
        out(`sync requested from ${ws.peers().length} peer(s)`)
        break
      case 'reconnect':
        this.node.reconnect()
        out('redialing known peers and resyncing')
        break
      case 'peers': {
        const peers = ws.peers()
        if (peers.length === 0) out('no peers connected')
        for (const p of peers) {
          const shared = p.docs.includes(this.home.docId) ? 'syncing this document' : 'not in this document'
          out(`${displayLabel(p.name) || 'unnamed'} ${deviceLabel(p.device)} at ${p.address}: ${shared}`)
        }
        for (const t of this.node.dialer.status()) {
          if (t.state !== 'connected')
            out(`${t.host}:${t.port} ${t.state}${t.lastError ? ` (${t.lastError})` : ''}`)
        }
        break
      }
      case 'history': {
        for (const h of this.doc.durable.text.history().slice(-c.limit)) {
          const who = displayLabel(this.doc.authorOf(h.replica)?.name ?? 'unknown author')
          const when = new Date(h.time * 1000).toISOString()
          const what = h.kind === 'insert' ? `insert ${terminalJson(h.text)}` : `delete ${h.length}`
          out(`${h.replica}:${h.counter} ${when} ${who} ${what}`)
        }
        break
      }
      case 'invite': {
        const kind = this.folder ? 'project' : 'doc'
        const code = await ws.createInvite(this.home.docId, c.role, this.node.addresses(), undefined, kind)
        out(`invite (${c.role}, single use, 24 h): meshpad://join/${code}`)
        break
      }
      case 'invites': {
        const invites = ws.openInvites(this.home.docId)
        if (invites.length === 0)
          out(
            this.home.myRole === 'owner'
              ? 'no open invites'
              : 'no open invites (this device is not an owner)',
          )
        for (const i of invites)
          out(`${i.id} ${i.role} expires ${new Date(i.expires).toISOString()} (${expiresIn(i.expires)})`)
        break
      }
      case 'revoke': {
        const matches = ws.openInvites(this.home.docId).filter((i) => i.id.startsWith(c.id.toLowerCase()))
        if (matches.length !== 1)
          throw new CommandError(`"${displayLabel(c.id)}" names ${matches.length} open invites; see invites`)
        await ws.revokeInvite(this.home.docId, matches[0]!.id)
        out(`revoked the ${matches[0]!.role} invite ${matches[0]!.id}`)
        break
      }
      case 'join': {
        const invite = readInvite(c.code)
        requireInviteKind(invite, 'doc', CLI_JOIN)
        await this.node.joinWithInvite(invite)
        out('invite sent; waiting for the inviter to let us in')
        break
      }
      case 'status': {
        if (this.folder) {
          out(this.folder.status(this.node.identity.deviceId, this.node.port))
          break
        }
        const v = this.doc.textVersion()
        out(
          `document ${this.doc.docId} "${displayLabel(this.doc.title)}" role ${this.doc.myRole ?? 'none'} ` +
            `length ${this.doc.text.length} ops ${Object.values(v).reduce((a, b) => a + b, 0)} ` +
            `peers ${this.doc.peers().length} device ${this.node.identity.deviceId} port ${this.node.port}`,
        )
        break
      }
      case 'members': {
        const creator = this.home.durable.members.root()
        const flagged = new Set(this.home.equivocators())
        const withholding = new Set(this.home.withholders())
        const members = this.home.members()
        for (const { device, record } of members) {
          // The key stays last: scripts take it from there.
          const marks =
            `${device === creator ? ' creator' : ''}${flagged.has(device) ? ' flagged' : ''}` +
            `${withholding.has(device) ? ' withholding' : ''}`
          out(
            `${displayLabel(record.name) || 'unnamed'} ${deviceLabel(device)} ${displayLabel(String(record.role))}${marks} ${displayLabel(device)}`,
          )
        }
        if (members.some((m) => flagged.has(m.device)))
          out('flagged: signed conflicting member changes; its member changes no longer count')
        break
      }
      case 'role':
        if (c.role === 'removed') await this.home.removeMember(this.resolveDevice(c.device))
        else await this.home.setMember(this.resolveDevice(c.device), c.role, '')
        break
      case 'share':
        await ws.shareOnLan(this.home.docId, c.on)
        out(c.on ? 'listed to devices on the LAN' : 'no longer listed')
        break
      case 'requests':
        for (const r of ws.pendingJoinRequests())
          out(`${r.id} ${displayLabel(r.name)} ${deviceLabel(r.device)} ${r.docId}`)
        break
      case 'approve':
        await ws.approveJoin(c.id, c.role)
        break
      case 'deny':
        ws.denyJoin(c.id)
        break
      case 'nearby':
        for (const n of ws.nearby()) {
          for (const d of n.docs)
            out(
              `${n.device} ${d.docId} "${displayLabel(d.title)}" by ${displayLabel(d.ownerName)}, ${d.memberCount} member(s)`,
            )
        }
        break
      case 'request':
        ws.requestJoin(this.resolveDevice(c.device), c.docId)
        out('join request sent')
        break
      case 'ls':
        for (const line of this.requireFolder().ls()) out(line)
        break
      case 'open':
        await this.requireFolder().open(c.path)
        out(`opened ${c.path}`)
        break
      case 'offline':
        this.node.setOnline(!c.on)
        out(c.on ? 'working offline' : 'back online; resyncing')
        break
      case 'exit':
        return false
    }
    return true
  }

  /** A device named by its full hex key or by a unique prefix of it. */
  private resolveDevice(text: string): string {
    const t = text.toLowerCase()
    const known = new Set([
      ...this.home.members().map((m) => m.device),
      ...this.node.workspace.peers().map((p) => p.device),
    ])
    const matches = [...known].filter((k) => k.startsWith(t))
    if (matches.length !== 1)
      throw new CommandError(`"${text}" names ${matches.length} known devices; give more of its key`)
    return matches[0]!
  }

  private requireFolder(): ProjectCli {
    if (!this.folder) throw new CommandError('this peer runs on a file; ls and open need --folder')
    return this.folder
  }

  async close(): Promise<void> {
    await this.file?.close()
    await this.folder?.close()
    await this.node.close()
  }
}

/** Runs the prompt on stdin/stdout until `exit` or end of input. */
export async function runPeer(options: PeerOptions): Promise<void> {
  const interactive = process.stdin.isTTY === true
  // Everything printed may hold a peer's words (names, titles, reasons, the text): no control or
  // bidi-override character reaches the terminal as itself.
  const out: Out = (line) => process.stdout.write(displayText(line) + '\n')
  const cli = await PeerCli.start(options, out)
  out(`meshpad peer "${options.name}" listening on port ${cli.port}; type help for commands`)
  const rl = createInterface({ input: process.stdin, terminal: interactive })
  if (interactive) {
    rl.setPrompt('meshpad> ')
    rl.prompt()
  }
  let closing = false
  const shutdown = async (): Promise<void> => {
    if (closing) return
    closing = true
    rl.close()
    await cli.close()
  }
  process.once('SIGINT', () => void shutdown().then(() => process.exit(0)))
  process.once('SIGTERM', () => void shutdown().then(() => process.exit(0)))
  // Commands run one at a time, in order, even when a script sends many lines at once.
  let queue = Promise.resolve()
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      if (closing) return
      let keepGoing = true
      try {
        keepGoing = await cli.run(line)
        if (!interactive && line.trim() !== '') out('ok')
      } catch (err) {
        out(`error: ${err instanceof Error ? err.message : String(err)}`)
      }
      if (!keepGoing) await shutdown()
      else if (interactive) rl.prompt()
    })
  })
  await new Promise<void>((resolve) => rl.once('close', resolve))
  await queue
  await shutdown()
}

/** "in 23 h", "in 5 min": how long until `ms` (since the epoch). */
function expiresIn(ms: number): string {
  const minutes = Math.max(1, Math.ceil((ms - Date.now()) / 60_000))
  return minutes < 60 ? `in ${minutes} min` : `in ${Math.round(minutes / 60)} h`
}

/** A device's short ID for people; a member key that is not a device key (written by a peer) says so. */
function deviceLabel(hex: string): string {
  return /^[0-9a-f]{64}$/.test(hex) ? deviceIdOf(fromHex(hex)) : '(not a device key)'
}
