/**
 * Several "hosts" on one machine, for tests of discovery across a real (virtual) LAN: each host is a
 * network namespace with one veth `eth0` plugged into a bridge that lives in a namespace of its own
 * (docs: testing.md). Needs root and iproute2; `netnsSupport()` says whether they are here.
 *
 * Every namespace name carries the test process's pid, so parallel runs never collide, and `destroy()`
 * (also run on process exit) deletes them all. Namespaces left by a run that was killed are deleted
 * when the next run starts. Addresses are 10.77.0.x inside the namespaces and nothing else: no packet
 * of these tests reaches a real interface.
 */
import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Support {
  readonly ok: boolean
  readonly reason: string
}

let support: Support | undefined

/** Whether namespaces can be made here (root, iproute2, and the kernel lets us). Cached. */
export function netnsSupport(): Support {
  if (support) return support
  if (process.platform !== 'linux') return (support = { ok: false, reason: 'not Linux' })
  if (process.getuid?.() !== 0) return (support = { ok: false, reason: 'not running as root' })
  const probe = `mp-${process.pid}-probe`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' })
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'iproute2 (ip) is not installed' : String(error)
    return (support = { ok: false, reason: `cannot create network namespaces: ${why}` })
  }
  return (support = { ok: true, reason: '' })
}

/** Whether python3-zeroconf is installed (for the interop test). */
export function zeroconfSupport(): Support {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import zeroconf'], { stdio: 'pipe' })
    return { ok: true, reason: '' }
  } catch {
    return { ok: false, reason: 'python3-zeroconf is not installed (apt-get install python3-zeroconf)' }
  }
}

/**
 * Decides whether a suite runs. Unsupported here: skipped with a plain message, unless
 * MESHPAD_REQUIRE_NETNS=1 (CI), where the suite runs and fails in `requireSupport` instead.
 */
export function shouldSkip(suite: string, ...checks: Support[]): boolean {
  const missing = checks.find((c) => !c.ok)
  if (!missing) return false
  if (process.env['MESHPAD_REQUIRE_NETNS'] === '1') return false
  console.warn(
    `[${suite}] SKIPPED: ${missing.reason}. Run as root with iproute2 and python3-zeroconf to include it.`,
  )
  return true
}

/** In beforeAll: fails the suite when it must run (MESHPAD_REQUIRE_NETNS=1) but cannot. */
export function requireSupport(...checks: Support[]): void {
  const missing = checks.find((c) => !c.ok)
  if (missing)
    throw new Error(`MESHPAD_REQUIRE_NETNS=1 but this machine cannot run the suite: ${missing.reason}`)
}

const ip = async (...args: string[]): Promise<void> => {
  await run('ip', args)
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes namespaces named mp-<pid>-… whose process is gone (a run that was killed). */
export function deleteStaleNamespaces(): void {
  let list: string
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: 'pipe' })
  } catch {
    return
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const pid = /^mp-(\d+)-/.exec(name)?.[1]
    if (pid && Number(pid) !== process.pid && !alive(Number(pid))) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' })
      } catch {
        // already gone
      }
    }
  }
}

export interface Host {
  readonly index: number
  readonly ns: string
  readonly address: string
}

/** mp-<pid>-<random>: unique per run even if two workers shared a pid (thread pools). */
const labName = (): string => `mp-${process.pid}-${Math.random().toString(36).slice(2, 6)}`

/** A bridge and `count` hosts on it: 10.77.0.1, 10.77.0.2, … */
export class Lab {
  readonly bridge: string
  readonly hosts: Host[] = []
  /** Namespaces besides the hosts and the bridge. */
  private readonly extra: string[] = []
  private readonly processes = new Set<ChildProcessWithoutNullStreams>()
  private destroyed = false
  private readonly onExit = (): void => this.destroySync()

  private constructor(readonly prefix: string) {
    this.bridge = `${prefix}-br`
    process.once('exit', this.onExit)
  }

  static async create(count: number): Promise<Lab> {
    deleteStaleNamespaces()
    const lab = new Lab(labName())
    try {
      await ip('netns', 'add', lab.bridge)
      await ip('-n', lab.bridge, 'link', 'set', 'lo', 'up')
      await ip('-n', lab.bridge, 'link', 'add', 'br0', 'type', 'bridge')
      await ip('-n', lab.bridge, 'link', 'set', 'br0', 'up')
      for (let i = 1; i <= count; i++) await lab.addHost(i)
    } catch (error) {
      await lab.destroy()
      throw error
    }
    return lab
  }

  /** Only loopback: for a single-host test that needs port 5353 without touching a real interface. */
  static async loopbackOnly(): Promise<{ lab: Lab; ns: string }> {
    deleteStaleNamespaces()
    const lab = new Lab(labName())
    const ns = `${lab.prefix}-lo`
    lab.extra.push(ns)
    try {
      await ip('netns', 'add', ns)
      await ip('-n', ns, 'link', 'set', 'lo', 'up')
    } catch (error) {
      await lab.destroy()
      throw error
    }
    return { lab, ns }
  }

  private async addHost(i: number): Promise<void> {
    const ns = `${this.prefix}-n${i}`
    const address = `10.77.0.${i}`
    this.hosts.push({ index: i, ns, address })
    await ip('netns', 'add', ns)
    await ip('-n', ns, 'link', 'set', 'lo', 'up')
    await ip('-n', this.bridge, 'link', 'add', `vn${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    await ip('-n', this.bridge, 'link', 'set', `vn${i}`, 'master', 'br0')
    await ip('-n', this.bridge, 'link', 'set', `vn${i}`, 'up')
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    await ip('-n', ns, 'link', 'set', 'eth0', 'multicast', 'on')
    await ip('-n', ns, 'link', 'set', 'eth0', 'up')
    await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
  }

  /** Pulls host i's cable: its bridge port goes down (its eth0 loses carrier, as with a real cable). */
  async partition(i: number): Promise<void> {
    await ip('-n', this.bridge, 'link', 'set', `vn${i}`, 'down')
  }

  async heal(i: number): Promise<void> {
    await ip('-n', this.bridge, 'link', 'set', `vn${i}`, 'up')
  }

  /** Starts `command` inside a namespace; killed by destroy() at the latest. */
  spawn(
    ns: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): ChildProcessWithoutNullStreams {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
      env: { ...process.env, ...env },
      stdio: 'pipe',
    })
    this.processes.add(child)
    child.once('exit', () => this.processes.delete(child))
    return child
  }

  namespaces(): string[] {
    return [...this.hosts.map((h) => h.ns), ...this.extra, this.bridge]
  }

  /** Kills what runs inside and deletes every namespace. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    process.off('exit', this.onExit)
    await Promise.all(
      [...this.processes].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            child.kill('SIGTERM')
          }),
      ),
    )
    for (const ns of this.namespaces()) await ip('netns', 'del', ns).catch(() => undefined)
  }

  private destroySync(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const child of this.processes) child.kill('SIGKILL')
    for (const ns of this.namespaces()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' })
      } catch {
        // already gone
      }
    }
  }
}

/** Lines of a child's stdout, with a way to wait for one. */
export class Lines {
  readonly all: string[] = []
  private readonly waiters = new Set<() => void>()

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.all.push(line)
      for (const wake of [...this.waiters]) wake()
    })
  }

  /** The first line at or after `from` that satisfies `match`. */
  async waitFor(
    what: string,
    match: (line: string) => boolean,
    timeoutMs = 10_000,
    from = 0,
  ): Promise<string> {
    const found = (): string | undefined => this.all.slice(from).find(match)
    const now = found()
    if (now !== undefined) return now
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${this.all.slice(-15).join('\n')}`,
          ),
        )
      }, timeoutMs)
      const check = (): void => {
        const line = found()
        if (line === undefined) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(line)
      }
      this.waiters.add(check)
    })
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n')
  }
}
