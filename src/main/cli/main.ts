/**
 * The `meshpad` command. `meshpad peer …` runs a headless peer (peer.ts); `meshpad serve …` runs a
 * peer with the editor in the browser (serve.ts). Arguments are parsed with
 * node:util's parseArgs and validated; a bad one gets a one-line error and exit code 2.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runPeer } from './peer'
import { runServe } from './serve'

const USAGE = `usage: meshpad peer (--file <path> | --folder <dir> [--invite <code>]) [--data-dir <dir>] [--port <port>]
                    [--host <addr>] [--name <name>] [--delay <ms>] [--jitter <ms>] [--loss <0..1>] [--no-discovery]
                    [--keep-deleted <times the document's length | all>]
       meshpad serve [--data-dir <dir>] [--port <http port>] [--peer-port <port>] [--host <addr>]
                     [--name <name>] [--no-discovery]`

function defaultDataDir(): string {
  if (process.platform === 'win32') return join(process.env['APPDATA'] ?? homedir(), 'Meshpad')
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Meshpad')
  return join(process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'meshpad')
}

function fail(message: string): never {
  process.stderr.write(`meshpad: ${message}\n${USAGE}\n`)
  process.exit(2)
}

function number(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}`)
  return n
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === 'serve') return serve(rest)
  if (command !== 'peer') fail(command ? `unknown command "${command}"` : 'missing command')
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: rest,
      options: {
        'data-dir': { type: 'string' },
        file: { type: 'string' },
        folder: { type: 'string' },
        invite: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        name: { type: 'string' },
        delay: { type: 'string' },
        jitter: { type: 'string' },
        loss: { type: 'string' },
        'anti-entropy': { type: 'string' },
        'no-discovery': { type: 'boolean' },
        'keep-deleted': { type: 'string' },
      },
      strict: true,
    }).values
  } catch (err) {
    fail((err as Error).message)
  }
  const keep = values['keep-deleted'] as string | undefined
  const file = values['file']
  const folder = values['folder']
  const invite = values['invite']
  const hasFile = typeof file === 'string' && file !== ''
  const hasFolder = typeof folder === 'string' && folder !== ''
  if (hasFile === hasFolder) fail('give one of --file and --folder')
  if (typeof invite === 'string' && !hasFolder)
    fail('--invite goes with --folder (a file joins with the join command)')
  const delay = number(values['delay'] as string | undefined, 'delay', 0, 60_000, 0)
  const jitter = number(values['jitter'] as string | undefined, 'jitter', 0, 60_000, 0)
  const loss = number(values['loss'] as string | undefined, 'loss', 0, 1, 0)
  const faulty = delay > 0 || jitter > 0 || loss > 0
  await runPeer({
    dataDir: resolve((values['data-dir'] as string | undefined) ?? defaultDataDir()),
    ...(hasFile ? { file: resolve(file as string) } : { folder: resolve(folder as string) }),
    ...(typeof invite === 'string' ? { invite } : {}),
    name: (values['name'] as string | undefined) ?? process.env['USER'] ?? 'meshpad',
    port: number(values['port'] as string | undefined, 'port', 0, 65535, 0),
    host: (values['host'] as string | undefined) ?? '0.0.0.0',
    faults: faulty ? { delayMs: delay, jitterMs: jitter, loss } : undefined,
    discovery: values['no-discovery'] !== true,
    antiEntropyMs: number(values['anti-entropy'] as string | undefined, 'anti-entropy', 0, 3_600_000, 3000),
    ...(keep !== undefined
      ? { keepDeleted: keep === 'all' ? Infinity : number(keep, 'keep-deleted', 0, 1_000_000, 0) }
      : {}),
  })
}

async function serve(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        'peer-port': { type: 'string' },
        host: { type: 'string' },
        name: { type: 'string' },
        'no-discovery': { type: 'boolean' },
      },
      strict: true,
    }).values
  } catch (err) {
    fail((err as Error).message)
  }
  await runServe({
    dataDir: resolve((values['data-dir'] as string | undefined) ?? defaultDataDir()),
    name: (values['name'] as string | undefined) ?? process.env['USER'] ?? 'meshpad',
    port: number(values['port'] as string | undefined, 'port', 0, 65535, 0),
    peerPort: number(values['peer-port'] as string | undefined, 'peer-port', 0, 65535, 0),
    host: (values['host'] as string | undefined) ?? '0.0.0.0',
    discovery: values['no-discovery'] !== true,
  })
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`meshpad: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
