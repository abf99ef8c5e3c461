/**
 * A `meshpad peer --folder` process for bench/folder.ts, driven through its stdin as a script would
 * drive it: every command's answer ends with `ok` or `error: …`. The process is node itself (no shell
 * in between), so its pid is the one whose CPU time and RSS /proc reports.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cpuProfArgs } from './cpu-prof'

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)))
const BIN = join(REPO, 'bin', 'meshpad.cjs')

interface Pending {
  readonly output: string[]
  readonly resolve: (lines: string[]) => void
  readonly reject: (e: Error) => void
}

export class FolderPeer {
  private readonly queue: Pending[] = []
  private readonly tail: string[] = []
  private stderr = ''
  readonly exited: Promise<number | null>
  /** When the peer printed that it listens: the folder is shared or joined by then. */
  readonly listening: Promise<number>

  private constructor(
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (c: string) => (this.stderr = (this.stderr + c).slice(-4000)))
    child.stdin.on('error', () => undefined)
    let listened: (at: number) => void = () => undefined
    let failed: (e: Error) => void = () => undefined
    this.listening = new Promise<number>((res, rej) => {
      listened = res
      failed = rej
    })
    this.listening.catch(() => undefined)
    this.exited = new Promise((res) =>
      child.once('exit', (code) => {
        const e = new Error(`${name} exited (${code}):\n${this.describe()}`)
        failed(e)
        for (const p of this.queue.splice(0)) p.reject(e)
        res(code)
      }),
    )
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.tail.push(line)
      if (this.tail.length > 30) this.tail.shift()
      if (/listening on port \d+/.test(line)) listened(performance.now())
      if (line.startsWith('log: ') || line.startsWith('event: ')) return
      const head = this.queue[0]
      if (!head) return
      if (line === 'ok') {
        this.queue.shift()
        head.resolve(head.output)
      } else if (line.startsWith('error: ')) {
        this.queue.shift()
        head.reject(new Error(`${name}: ${line}`))
      } else head.output.push(line)
    })
  }

  static start(name: string, dataDir: string, folder: string, invite?: string): FolderPeer {
    const args = [BIN, 'peer', '--data-dir', dataDir, '--name', name, '--folder', folder]
    if (invite !== undefined) args.push('--invite', invite)
    args.push('--port', '0', '--host', '127.0.0.1', '--no-discovery')
    const child = spawn(process.execPath, [...cpuProfArgs(name), ...args], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    return new FolderPeer(name, child)
  }

  get pid(): number {
    return this.child.pid!
  }

  /** Sends the commands in one write; resolves with each one's answer once the last is in. */
  send(lines: readonly string[]): Promise<string[][]> {
    const answers = lines.map(
      (_) => new Promise<string[]>((res, rej) => this.queue.push({ output: [], resolve: res, reject: rej })),
    )
    this.child.stdin.write(lines.map((l) => `${l}\n`).join(''))
    return Promise.all(answers)
  }

  async run(line: string): Promise<string[]> {
    return (await this.send([line]))[0]!
  }

  async invite(): Promise<string> {
    const m = /meshpad:\/\/join\/(\S+)/.exec((await this.run('invite editor')).join('\n'))
    if (!m) throw new Error(`${this.name}: no invite`)
    return m[1]!
  }

  /** CPU time (user + system) the process has used so far, in ms, from /proc. */
  async cpuMs(): Promise<number> {
    const stat = await readFile(`/proc/${this.pid}/stat`, 'utf8')
    // The fields after the command name (which may hold spaces) start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of stat)
    return ticks * 10 // USER_HZ is 100 on Linux
  }

  /** Resident set size now, in MB, from /proc. */
  async rssMb(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    return kb / 1024
  }

  /** `exit` (flush and quit), killed if it takes over 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.stdin.write('exit\n')
    this.child.stdin.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000)
    await this.exited
    clearTimeout(timer)
  }

  describe(): string {
    return `--- ${this.name} stdout tail:\n${this.tail.join('\n')}\n--- stderr:\n${this.stderr}`
  }
}
