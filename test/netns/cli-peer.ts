/**
 * A headless `meshpad peer` (bin/meshpad.cjs) running inside one namespace of a Lab, driven through
 * stdin like a script: each command's answer is the lines before its `ok` (or `error: …`); `log:` and
 * `event:` lines may come at any time and stay in the transcript only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Host, Lab } from './harness'
import { Lines } from './harness'

const BIN = resolve(__dirname, '../../bin/meshpad.cjs')

export class CommandFailed extends Error {}

export class CliPeer {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly dir: string

  private constructor(
    readonly name: string,
    readonly host: Host,
    readonly lines: Lines,
    dir: string,
  ) {
    this.dir = dir
  }

  /** Starts a peer with discovery on (the default) and a file holding `text`. */
  static async start(lab: Lab, host: Host, name: string, text = ''): Promise<CliPeer> {
    const dir = mkdtempSync(join(tmpdir(), `meshpad-netns-${name}-`))
    const file = join(dir, `${name}.txt`)
    writeFileSync(file, text)
    const child = lab.spawn(host.ns, process.execPath, [
      BIN,
      'peer',
      '--data-dir',
      join(dir, 'data'),
      '--file',
      file,
      '--name',
      name,
    ])
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`))
    const peer = new CliPeer(name, host, new Lines(child), dir)
    await peer.lines.waitFor(`${name} listening`, (l) => /listening on port \d+/.test(l), 30_000)
    return peer
  }

  /** Runs one command; resolves with its answer lines, rejects with the peer's error message. */
  command(line: string, timeoutMs = 15_000): Promise<string[]> {
    const next = this.queue.then(async () => {
      const from = this.lines.all.length
      this.lines.send(line)
      const end = await this.lines.waitFor(
        `${this.name}: answer to "${line}"`,
        (l) => l === 'ok' || l.startsWith('error: '),
        timeoutMs,
        from,
      )
      const endIndex = this.lines.all.indexOf(end, from)
      const answer = this.lines.all.slice(from, endIndex).filter((l) => !/^(log|event): /.test(l))
      if (end !== 'ok') throw new CommandFailed(`${this.name}: "${line}" → ${end}`)
      return answer
    })
    this.queue = next.catch(() => undefined)
    return next
  }

  async text(): Promise<string> {
    const answer = await this.command('view --json')
    const json = answer.find((l) => l.startsWith('{'))
    if (!json) throw new Error(`${this.name}: view --json printed no JSON: ${answer.join(' | ')}`)
    return (JSON.parse(json) as { text: string }).text
  }

  /** Connected peers, by the address each is connected at. */
  async connectedAddresses(): Promise<string[]> {
    const answer = await this.command('peers')
    return answer.flatMap((l) => /\bat (?:::ffff:)?(\d+\.\d+\.\d+\.\d+):/.exec(l)?.[1] ?? [])
  }

  async insert(pos: number, text: string): Promise<void> {
    await this.command(`edit insert ${pos} ${JSON.stringify(text)}`)
  }

  /** Makes an invite and returns its link. */
  async invite(): Promise<string> {
    const answer = await this.command('invite')
    const link = answer.map((l) => /(meshpad:\/\/join\/\S+)/.exec(l)?.[1]).find((l) => l !== undefined)
    if (!link) throw new Error(`${this.name}: no invite link in ${answer.join(' | ')}`)
    return link
  }

  async join(link: string): Promise<void> {
    const from = this.lines.all.length
    await this.command(`join ${link}`)
    const result = await this.lines.waitFor(
      `${this.name} joined`,
      (l) => l.startsWith('event: join '),
      15_000,
      from,
    )
    if (!result.startsWith('event: join succeeded')) throw new Error(`${this.name}: ${result}`)
  }

  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
