/**
 * The `meshpad` command runs V8's helper threads at nice 19 and everything else at the event loop's
 * priority (bin/helper-threads.cjs): read from /proc while a real `meshpad peer` runs, from the build
 * and from the sources (tsx, loading them with a cold cache, starts libuv's pool: the launcher must
 * lower the helpers before it loads anything).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const REPO = resolve(__dirname, '../../..')
const POOL = 4

let child: ChildProcessWithoutNullStreams | null = null
let folder = ''
afterEach(() => {
  child?.kill('SIGKILL')
  child = null
  rmSync(folder, { recursive: true, force: true })
})

/** `meshpad peer` on a file, resolved once it listens. */
async function startPeer(env: Record<string, string>): Promise<number> {
  folder = mkdtempSync(join(tmpdir(), 'meshpad-helpers-'))
  writeFileSync(join(folder, 'note.txt'), 'hello\n')
  const args = [
    'bin/meshpad.cjs',
    'peer',
    '--file',
    join(folder, 'note.txt'),
    '--data-dir',
    join(folder, 'data'),
  ]
  const proc = spawn(process.execPath, [...args, '--host', '127.0.0.1', '--port', '0', '--no-discovery'], {
    cwd: REPO,
    env: { ...process.env, UV_THREADPOOL_SIZE: String(POOL), ...env },
  })
  child = proc
  let out = ''
  await new Promise<void>((resolveListening, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (/listening on port \d+/.test(out)) resolveListening()
    })
    proc.once('exit', (code) => reject(new Error(`meshpad peer exited with ${code}: ${out}`)))
  })
  return proc.pid!
}

/** Each thread's nice value (field 19 of /proc/<pid>/task/<tid>/stat, after the command's name). */
function niceValues(pid: number): Map<number, number> {
  const out = new Map<number, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]))
    } catch {
      // The thread exited since it was listed.
    }
  }
  return out
}

/** The nice this test runs at, which the command's threads start with. */
const BASE = getPriority()

/** The nice values once libuv's pool is up: the main thread's, and how many others have BASE and 19. */
async function priorities(pid: number): Promise<{ main: number; normal: number; lowered: number }> {
  for (let i = 0; ; i++) {
    const nice = niceValues(pid)
    const others = [...nice].filter(([tid]) => tid !== pid).map(([, n]) => n)
    const result = {
      main: nice.get(pid)!,
      normal: others.filter((n) => n === BASE).length,
      lowered: others.filter((n) => n === 19).length,
    }
    if (result.normal + result.lowered === others.length && result.normal >= POOL) return result
    if (i === 50) return result // the assertions below say what is wrong
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe.runIf(process.platform === 'linux')('meshpad command: helper thread priority', () => {
  for (const [how, env] of [
    ['the build (or the sources, if newer)', { MESHPAD_FROM_SOURCE: '' }],
    ['the sources', { MESHPAD_FROM_SOURCE: '1' }],
  ] as const) {
    it(`runs V8's helpers at nice 19, its event loop and libuv's pool as it was: ${how}`, async () => {
      const pid = await startPeer(env)
      const p = await priorities(pid)
      expect(p.main).toBe(BASE)
      // V8's platform workers (4 by default) and its delayed-task thread, at least.
      expect(p.lowered).toBeGreaterThanOrEqual(5)
      // libuv's pool, started later by the main thread, has its priority: file work is not made to wait.
      expect(p.normal).toBeGreaterThanOrEqual(POOL)
    }, 30_000)
  }
})
