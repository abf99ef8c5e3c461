/**
 * Test support: a `meshpad peer` in a child process, driven through its stdin the way a script would
 * drive it. Every command's answer ends with a line `ok` or `error: …` (stdin is not a terminal), so
 * commands are queued in order and each resolves with the lines printed before its `ok`. Lines starting
 * with `log:` or `event:` can come at any time: they go to the transcript, not to a command's answer.
 *
 * Each peer gets a fresh temp folder holding its data dir and its file, listens on 127.0.0.1 only, and
 * runs without discovery. `killAllPeers()` (call it in afterEach) kills whatever is still running and
 * removes the folders, so a failing test leaves nothing behind.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { VersionVector } from '../../src/shared/crdt'
import { HOST, sameVersion, sleep } from './util'

const REPO = resolve(__dirname, '../..')
const BIN = join(REPO, 'bin', 'meshpad.cjs')

export interface CliPeerOptions {
  readonly name: string
  /** Written to the peer's file before it starts: the peer then creates its document from it. */
  readonly text?: string
  /** The same, as raw bytes (any encoding); used instead of `text`. */
  readonly bytes?: Uint8Array
  readonly delayMs?: number
  readonly jitterMs?: number
  readonly loss?: number
  readonly antiEntropyMs?: number
  /**
   * Runs on a project (`--folder`) instead of a file: its folder is `tree` in the peer's temp folder,
   * holding `files` (path → text) before the start; shared as a new project unless `invite` is given.
   */
  readonly project?: { readonly files?: Readonly<Record<string, string>>; readonly invite?: string }
}

export interface DocView {
  readonly text: string
  readonly version: VersionVector
}

interface LineWatcher {
  line(line: string): void
  exit(error: Error): void
}

interface PendingCommand {
  readonly line: string
  readonly output: string[]
  readonly resolve: (lines: string[]) => void
  readonly reject: (error: Error) => void
}

export class CliCommandError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`"${command}" failed: ${reason}`)
  }
}

const live = new Set<CliPeer>()
const folders = new Set<string>()
const TRANSCRIPT_LINES = 400

export class CliPeer {
  /** The port the peer listens on (kept across restarts). */
  port = 0
  /** Lines from `log:` and `event:` and anything else outside a command's answer, the last few hundred. */
  readonly transcript: string[] = []
  private child: ChildProcessWithoutNullStreams | null = null
  private stderr = ''
  private queue: PendingCommand[] = []
  private exited: Promise<number | null> = Promise.resolve(null)
  /** Pending `waitForLine`s: each sees every line, and fails when the process exits. */
  private readonly watchers = new Set<LineWatcher>()

  private constructor(
    readonly options: CliPeerOptions,
    readonly folder: string,
  ) {}

  get name(): string {
    return this.options.name
  }
  get dataDir(): string {
    return join(this.folder, 'data')
  }
  get file(): string {
    return join(this.folder, `${this.options.name}.txt`)
  }
  /** With `project`: the project's folder. */
  get tree(): string {
    return join(this.folder, 'tree')
  }
  get running(): boolean {
    return this.child !== null
  }

  /** Starts a peer in a fresh folder and waits until it listens. */
  static async start(options: CliPeerOptions): Promise<CliPeer> {
    const folder = await mkdtemp(join(tmpdir(), `meshpad-cli-${options.name}-`))
    folders.add(folder)
    const peer = new CliPeer(options, folder)
    if (options.bytes !== undefined) await writeFile(peer.file, options.bytes)
    else if (options.text !== undefined) await writeFile(peer.file, options.text)
    for (const [path, text] of Object.entries(options.project?.files ?? {})) {
      await mkdir(dirname(join(peer.tree, path)), { recursive: true })
      await writeFile(join(peer.tree, path), text)
    }
    await peer.spawn()
    return peer
  }

  private async spawn(): Promise<void> {
    const o = this.options
    const args = [BIN, 'peer', '--data-dir', this.dataDir, '--name', o.name]
    if (o.project) args.push('--folder', this.tree)
    else args.push('--file', this.file)
    if (o.project?.invite !== undefined) args.push('--invite', o.project.invite)
    args.push('--port', String(this.port), '--host', HOST, '--no-discovery')
    if (o.delayMs !== undefined) args.push('--delay', String(o.delayMs))
    if (o.jitterMs !== undefined) args.push('--jitter', String(o.jitterMs))
    if (o.loss !== undefined) args.push('--loss', String(o.loss))
    if (o.antiEntropyMs !== undefined) args.push('--anti-entropy', String(o.antiEntropyMs))
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child = child
    this.stderr = ''
    live.add(this)
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000)
    })
    // Writes after the child died would raise EPIPE on the stream: the exit is reported instead.
    child.stdin.on('error', () => undefined)
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code) => {
        if (this.child === child) this.child = null
        live.delete(this)
        const failed = this.queue.splice(0)
        for (const c of failed)
          c.reject(new Error(`${this.name} exited (${code}) during "${c.line}"\n${this.describe()}`))
        const error = new Error(`${this.name} exited (${code})\n${this.describe()}`)
        for (const watcher of [...this.watchers]) watcher.exit(error)
        resolveExit(code)
      })
    })
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line))
    const listening = await this.waitForLine(/listening on port (\d+)/, 30_000)
    this.port = Number(/listening on port (\d+)/.exec(listening)![1])
  }

  private onLine(line: string): void {
    for (const watcher of [...this.watchers]) watcher.line(line)
    const head = this.queue[0]
    const outOfBand = line.startsWith('log: ') || line.startsWith('event: ')
    if (head === undefined || outOfBand) {
      this.transcript.push(line)
      if (this.transcript.length > TRANSCRIPT_LINES) this.transcript.shift()
      return
    }
    if (line === 'ok') {
      this.queue.shift()
      head.resolve(head.output)
    } else if (line.startsWith('error: ')) {
      this.queue.shift()
      head.reject(new CliCommandError(head.line, line.slice('error: '.length)))
    } else {
      head.output.push(line)
    }
  }

  /** Resolves with the first line (from now on) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolveLine, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        this.watchers.delete(watcher)
      }
      const timer = setTimeout(() => {
        done()
        const what = `no line matching ${String(pattern)} within ${timeoutMs} ms`
        reject(new Error(`${this.name}: ${what}\n${this.describe()}`))
      }, timeoutMs)
      const watcher: LineWatcher = {
        line: (line) => {
          if (!pattern.test(line)) return
          done()
          resolveLine(line)
        },
        exit: (error) => {
          done()
          reject(error)
        },
      }
      this.watchers.add(watcher)
    })
  }

  /** Sends one command; resolves with its answer's lines, rejects with CliCommandError on `error:`. */
  async run(line: string, timeoutMs = 20_000): Promise<string[]> {
    const [answer] = await this.send([line], timeoutMs)
    return answer!
  }

  /**
   * Sends many commands in one write (a scripted burst: the peer reads them as fast as it can) and
   * resolves with every answer, in order, once the last one is in. The first `error:` rejects it.
   */
  send(lines: readonly string[], timeoutMs = 20_000): Promise<string[][]> {
    const answers = this.submit(lines)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const what = `${lines.length} command(s)`
        reject(new Error(`${this.name}: no answer to ${what} within ${timeoutMs} ms\n${this.describe()}`))
      }, timeoutMs)
    })
    // Every answer is awaited (also after a failure), so no rejection is left unhandled.
    const all = Promise.allSettled(answers).then((settled) =>
      settled.map((s) => {
        if (s.status === 'rejected') throw s.reason
        return s.value
      }),
    )
    return Promise.race([all, timeout]).finally(() => clearTimeout(timer))
  }

  /**
   * Writes the commands at once and returns one promise per command, for a caller that watches them
   * complete one by one (and may kill the peer halfway). Unawaited failures are not reported as
   * unhandled: after a kill, the commands still queued fail by design.
   */
  submit(lines: readonly string[]): Promise<string[]>[] {
    const child = this.child
    if (child === null) throw new Error(`${this.name} is not running`)
    for (const l of lines) {
      if (l.trim() === '' || l.includes('\n')) throw new Error(`not a single command: ${JSON.stringify(l)}`)
    }
    const answers = lines.map(
      (line) =>
        new Promise<string[]>((resolveCommand, reject) => {
          this.queue.push({ line, output: [], resolve: resolveCommand, reject })
        }),
    )
    for (const a of answers) a.catch(() => undefined)
    child.stdin.write(lines.map((l) => `${l}\n`).join(''))
    return answers
  }

  async view(): Promise<DocView> {
    const lines = await this.run('view --json')
    const parsed = JSON.parse(lines[lines.length - 1]!) as DocView
    return { text: parsed.text, version: parsed.version }
  }

  /** Makes a single-use invite; resolves with its code. */
  async invite(role: 'editor' | 'viewer' = 'editor'): Promise<string> {
    const lines = await this.run(`invite ${role}`)
    const m = /meshpad:\/\/join\/(\S+)/.exec(lines.join('\n'))
    if (!m) throw new Error(`${this.name}: no invite in ${JSON.stringify(lines)}`)
    return m[1]!
  }

  /** Joins with an invite; resolves once the peer reports it joined, rejects if it reports failure. */
  async join(code: string, timeoutMs = 20_000): Promise<void> {
    const result = this.waitForLine(/^event: join (succeeded|failed)/, timeoutMs)
    result.catch(() => undefined) // awaited below, unless the command itself fails first
    await this.run(`join ${code}`, timeoutMs)
    const line = await result
    if (!line.startsWith('event: join succeeded'))
      throw new CliCommandError(`join ${code.slice(0, 12)}…`, line)
  }

  /** The device key (hex) of this peer, from `members` of a document it is in. */
  async deviceKey(): Promise<string> {
    const status = (await this.run('status')).join('\n')
    const id = /device (\S+)/.exec(status)![1]!
    const member = (await this.run('members')).find((l) => l.includes(` ${id} `))
    if (!member) throw new Error(`${this.name} is not in its document's member list`)
    return member.split(' ').pop()!
  }

  /** Kills the process (SIGKILL: no flush, no goodbye) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child
    if (child === null) return
    child.kill(signal)
    await this.exited
  }

  /** Starts the peer again on the same data dir, file and port. */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error(`${this.name} is still running`)
    await this.spawn()
  }

  /** `exit`, then waits for the process to end (killing it if it takes more than 10 s). */
  async close(): Promise<void> {
    const child = this.child
    if (child === null) return
    child.stdin.write('exit\n')
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await this.exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`${this.name} exited with ${code}\n${this.describe()}`)
  }

  /** The last lines of the transcript and stderr, for failure messages. */
  describe(): string {
    const out = this.transcript.slice(-15).join('\n')
    return `--- ${this.name} (port ${this.port}) transcript tail:\n${out}\n--- stderr:\n${this.stderr.slice(-2000)}`
  }
}

/** Kills every peer still running and removes every peer folder. Safe to call when nothing is left. */
export async function killAllPeers(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGKILL')))
  await Promise.all([...folders].map((f) => rm(f, { recursive: true, force: true })))
  folders.clear()
}

// A worker that dies (or is torn down) mid-test must not leave peers behind.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL').catch(() => undefined)
})

export interface Converged {
  readonly view: DocView
  /** How long the polling took. */
  readonly ms: number
}

/**
 * Polls `view` on every peer (every `intervalMs`) until all show the same text and version vector;
 * rejects after `timeoutMs` with what each peer last showed.
 */
export async function waitForConvergence(
  peers: readonly CliPeer[],
  timeoutMs: number,
  intervalMs = 100,
): Promise<Converged> {
  const start = Date.now()
  let views: DocView[] = []
  for (;;) {
    views = await Promise.all(peers.map((p) => p.view()))
    const first = views[0]!
    if (views.every((v) => v.text === first.text && sameVersion(v.version, first.version))) {
      return { view: first, ms: Date.now() - start }
    }
    if (Date.now() - start > timeoutMs) break
    await sleep(intervalMs)
  }
  const summary = peers
    .map((p, i) => `${p.name}: ${views[i]!.text.length} chars, version ${JSON.stringify(views[i]!.version)}`)
    .join('\n')
  throw new Error(
    `peers did not converge within ${timeoutMs} ms:\n${summary}\n${peers.map((p) => p.describe()).join('\n')}`,
  )
}
