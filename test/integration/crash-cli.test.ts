/**
 * Crash test of the headless peer (issue 16's proof): `meshpad peer` runs as a child process on one
 * file and data dir, takes seeded random edits over stdin one at a time, and is killed with SIGKILL at a
 * seeded random moment, again and again. After every kill it restarts on the same data dir and its text
 * must be exactly the model after every acknowledged edit (an `ok` seen), give or take the one edit that
 * was in flight. Issue 16 was an acknowledged insert starting with U+FEFF, and every edit after it,
 * silently gone after a restart; the edits here come from every code-point class (crash-cli-edits.ts),
 * so a decoder that drops, folds or splits any of them shows up as a lost edit.
 *
 * Kill moments: 40% of the runs are killed a random time (up to 100 ms) after the restart was checked:
 * mid-edit, between edits, mid-save; 10% within a `save` they force, some between its temp file and its
 * rename; half during start-up, mostly while modules load, some while the data dir and the file are
 * being opened. Every acknowledged `save` is checked on disk. A seed fixes the edits' generator and the kill
 * plans; which edit a kill lands on is timing, so a failure gives the seed, the kill and the edits.
 *
 * 200 kills by default: start-ups dominate (about 0.6 s of CPU each), so the file needs about two
 * minutes of one core. Longer or other runs, which print the same one-line summary:
 *   MESHPAD_CLI_CRASH_KILLS=2000 MESHPAD_CLI_CRASH_SEED=7 npx vitest run test/integration/crash-cli.test.ts
 * (MESHPAD_CLI_CRASH_RUN_MS sets how long a run edits before its kill, default 100.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { seededRandom, type Random } from '../../src/shared/random'
import {
  applyEdit,
  BOM,
  escaped,
  firstDifference,
  nextStep,
  SAVE,
  type Edit,
  type Step,
  visible,
} from './crash-cli-edits'

const KILLS = Number(process.env['MESHPAD_CLI_CRASH_KILLS'] ?? 200)
const SEED = Number(process.env['MESHPAD_CLI_CRASH_SEED'] ?? 16)
const RUN_MS = Number(process.env['MESHPAD_CLI_CRASH_RUN_MS'] ?? 100)
/** Per command; a run's commands are killed long before, so this only catches a hung peer. */
const ANSWER_TIMEOUT_MS = 30_000
const SAVE_CHANCE = 0.06
const BIN = resolve(__dirname, '../../bin/meshpad.cjs')
const LISTENING = /^meshpad peer .* listening on port \d+/
const TEMP_FILE = /^\..*\.meshpad-tmp$/
const BOM_BYTES = Buffer.from([0xef, 0xbb, 0xbf])
const START_TEXT = 'start\n'

type Answer =
  | { readonly kind: 'ok'; readonly lines: readonly string[] }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'gone' }

interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

const live = new Set<PeerProcess>()

/**
 * One `meshpad peer` process. CliPeer (cli-peer.ts) queues commands and rejects them all when the
 * process dies; here exactly one command is ever outstanding, and a kill must tell "answered" from "in
 * flight" exactly, so every byte of stdout is read before the process counts as gone ('close', not
 * 'exit': an `ok` may still sit in the pipe when the process exits).
 */
class PeerProcess {
  readonly spawnedAt = performance.now()
  /** Spawn → the `listening` line, if it came. */
  startupMs: number | undefined
  killedByTest = false
  stderr = ''
  readonly ready: Promise<boolean>
  readonly closed: Promise<Exit>
  private readonly child: ChildProcessWithoutNullStreams
  private readonly tail: string[] = []
  private buffered = ''
  private answerLines: string[] = []
  private waiting: ((answer: Answer) => void) | null = null
  private resolveReady: (listening: boolean) => void = () => undefined
  private killTimer: NodeJS.Timeout | undefined
  private gone = false

  constructor(file: string, dataDir: string) {
    const args = [BIN, 'peer', '--file', file, '--data-dir', dataDir, '--name', 'crash']
    args.push('--host', '127.0.0.1', '--port', '0', '--no-discovery')
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    live.add(this)
    this.ready = new Promise((r) => (this.resolveReady = r))
    // A write after the kill fails with EPIPE; the command then counts as in flight, which it is.
    this.child.stdin.on('error', () => undefined)
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)))
    // Split on \n, the only terminator the peer writes (readline would also split at a \r).
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => {
      const parts = (this.buffered + chunk).split('\n')
      this.buffered = parts.pop()!
      for (const line of parts) this.onLine(line)
    })
    this.closed = new Promise((resolveClosed) => {
      this.child.once('close', (code, signal) => {
        clearTimeout(this.killTimer)
        live.delete(this)
        this.gone = true
        this.resolveReady(false)
        this.waiting?.({ kind: 'gone' })
        this.waiting = null
        resolveClosed({ code, signal })
      })
    })
  }

  private onLine(line: string): void {
    this.tail.push(line.length > 200 ? `${line.slice(0, 200)}…` : line)
    if (this.tail.length > 12) this.tail.shift()
    if (this.startupMs === undefined) {
      if (LISTENING.test(line)) {
        this.startupMs = performance.now() - this.spawnedAt
        this.resolveReady(true)
      }
      return
    }
    if (line.startsWith('log: ') || line.startsWith('event: ') || this.waiting === null) return
    const answered = this.waiting
    if (line === 'ok') {
      this.waiting = null
      answered({ kind: 'ok', lines: this.answerLines })
    } else if (line.startsWith('error: ')) {
      this.waiting = null
      answered({ kind: 'error', message: line.slice('error: '.length) })
    } else {
      this.answerLines.push(line)
    }
  }

  /** Writes one command; its answer, or `gone` if the process ends first. */
  send(command: string): Promise<Answer> {
    if (this.waiting !== null) throw new Error('one command at a time')
    if (this.gone) return Promise.resolve({ kind: 'gone' })
    this.answerLines = []
    return new Promise<Answer>((resolveAnswer, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null
        reject(
          new Error(
            `no answer to ${command.slice(0, 80)} within ${ANSWER_TIMEOUT_MS} ms\n${this.describe()}`,
          ),
        )
      }, ANSWER_TIMEOUT_MS)
      this.waiting = (answer) => {
        clearTimeout(timer)
        resolveAnswer(answer)
      }
      this.child.stdin.write(`${command}\n`)
    })
  }

  killAfter(ms: number): void {
    clearTimeout(this.killTimer)
    this.killTimer = setTimeout(() => this.kill(), ms)
  }

  kill(): void {
    if (this.gone) return
    this.killedByTest = true
    this.child.kill('SIGKILL')
  }

  /** `exit`, as a script ends; a peer still there after 10 s is killed, and its exit says so. */
  async exit(): Promise<Exit> {
    this.child.stdin.end('exit\n')
    this.killAfter(10_000)
    return this.closed
  }

  describe(): string {
    return `--- peer stdout tail:\n${this.tail.join('\n')}\n--- stderr:\n${this.stderr.slice(-1500)}`
  }
}

// A worker torn down mid-test must not leave peers behind.
process.once('exit', () => {
  for (const p of live) p.kill()
})

interface KillPlan {
  /** What starts the kill timer: the spawn, the checked restart, or the `saveAt`-th command, a save. */
  readonly from: 'spawn' | 'ready' | 'save'
  readonly delayMs: number
  readonly saveAt: number
}

/** `startupMs`: the median start-up so far, so that as many kills land in start-up on a slow machine. */
function killPlan(rnd: Random, startupMs: number): KillPlan {
  const r = rnd()
  // Start-up is mostly loading modules: most of these land there, some while the data dir is being
  // opened, some just after. They are also the cheap kills that keep 200 of them within budget.
  if (r < 0.5) return { from: 'spawn', delayMs: (0.2 + 0.9 * rnd()) * startupMs, saveAt: -1 }
  // Within a save (5 to 50 ms: the base in the data dir, then the file through a temp file and a
  // rename), so that some kills leave a temp file beside the file for the next start to remove.
  if (r < 0.6) return { from: 'save', delayMs: rnd() * 25, saveAt: Math.floor(rnd() * 5) }
  return { from: 'ready', delayMs: rnd() * RUN_MS, saveAt: -1 }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The bytes of every file under `dir`, and how many of them are temp files. */
async function treeStats(dir: string): Promise<{ bytes: number; temps: number }> {
  const total = { bytes: 0, temps: 0 }
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const sub = entry.isDirectory()
      ? await treeStats(path)
      : { bytes: (await stat(path)).size, temps: TEMP_FILE.test(entry.name) ? 1 : 0 }
    total.bytes += sub.bytes
    total.temps += sub.temps
  }
  return total
}

/** A short excerpt of `text` around `pos`, every invisible character escaped, for failure messages. */
const around = (text: string, pos: number): string => escaped(text.slice(Math.max(0, pos - 24), pos + 24))

/** A command as a failure message shows it: short, and with U+FEFF and the like made visible. */
const shown = (command: string): string => {
  const text = visible(command)
  return text.length > 120 ? `${text.slice(0, 120)}…` : text
}

let root = ''
let folder = ''
let file = ''
let dataDir = ''
beforeAll(async () => {
  // realpath: the peer links the document to the file's real path; a moved-aside file (see below) must
  // still resolve to that same path.
  root = await realpath(await mkdtemp(join(tmpdir(), 'meshpad-crash-cli-')))
  folder = join(root, 'doc')
  file = join(folder, 'notes.txt')
  dataDir = join(root, 'data')
  await mkdir(folder)
  await mkdir(join(root, 'refused'))
  // Plain ASCII with LF: the peer then saves as UTF-8 without a BOM, with LF.
  await writeFile(file, START_TEXT)
})
afterAll(async () => {
  await Promise.all([...live].map((p) => (p.kill(), p.closed)))
  await rm(root, { recursive: true, force: true })
})

it(
  `holds every acknowledged edit across ${KILLS} SIGKILLs of the headless peer (seed ${SEED})`,
  // About 105 s alone and 130 s beside the other suites on 2 cores; room for a loaded machine.
  { timeout: Math.max(360_000, KILLS * 1_800) },
  async () => {
    const started = performance.now()
    const editRnd = seededRandom(SEED)
    const killRnd = seededRandom(SEED ^ 0x5eed)
    const failures: string[] = []
    const fail = (message: string): void => {
      failures.push(`seed ${SEED}, ${message}`)
    }
    const startups: number[] = []
    const n = {
      kills: 0,
      startupKills: 0,
      saveKills: 0,
      checks: 0,
      acked: 0,
      inFlightApplied: 0,
      inFlightDropped: 0,
      saves: 0,
      lost: 0,
      refusedStarts: 0,
      /** Kills after which a save's temp file was left beside the file, for the next start to remove. */
      tempsLeft: 0,
      /** Starts after which such a temp file was still there. */
      tempsKept: 0,
    }
    let model = START_TEXT
    /** The edits acknowledged since the last checked restart, and the one in flight at the kill. */
    let unchecked: Edit[] = []
    let inFlight: Step | null = null
    let checkedText = model
    const recent: string[] = []
    const remember = (command: string): void => {
      recent.push(shown(command))
      if (recent.length > 6) recent.shift()
    }
    /** Set once a real restart has shown whether the peer reopens a file holding NUL bytes. */
    let peerRefusesNul: boolean | undefined

    /** The text the restarted peer shows, against the model; a mismatch is reported as lost edits. */
    const checkRestart = (text: string, kill: number): void => {
      n.checks++
      const pending = inFlight !== null && inFlight.kind !== 'save' ? inFlight : null
      const withInFlight = pending ? applyEdit(model, pending) : null
      if (text === model) {
        if (pending) n.inFlightDropped++
      } else if (text === withInFlight) {
        n.inFlightApplied++
        model = text
      } else {
        // The longest prefix of the unchecked edits that the text shows: what follows it was lost.
        const sequence = pending ? [...unchecked, pending] : unchecked
        let candidate = checkedText
        let prefix = -1
        for (let k = 0; k <= sequence.length; k++) {
          if (candidate === text) prefix = k
          if (k < sequence.length) candidate = applyEdit(candidate, sequence[k]!)
        }
        const lost = prefix < 0 ? unchecked.length : Math.min(unchecked.length, sequence.length - prefix)
        n.lost += lost
        const at = firstDifference(model, text)
        const firstLost = prefix >= 0 ? sequence[prefix] : undefined
        fail(
          `kill ${kill}: after the restart the text differs from the model at UTF-16 position ${at} ` +
            `(model ${model.length} units ${around(model, at)}, peer ${text.length} units ${around(text, at)}); ` +
            (prefix >= 0
              ? `it shows the first ${prefix} of the ${unchecked.length} edits acknowledged before the kill, ` +
                `${lost} acknowledged edit(s) lost, the first: ${firstLost ? shown(firstLost.command) : '?'}`
              : `it matches no prefix of the ${unchecked.length} edits acknowledged before the kill`) +
            `; in flight: ${inFlight ? shown(inFlight.command) : 'nothing'}; last acknowledged: ${recent.join(' | ')}`,
        )
        model = text
      }
      checkedText = model
      unchecked = []
      inFlight = null
    }

    /**
     * An acknowledged save: the file must hold the model. The file started as LF UTF-8 without a BOM,
     * and the peer keeps a file's format with its document rather than guessing it again from the bytes
     * it wrote, so the text is saved as it is: a "\r\n" typed into this LF file stays "\r\n".
     */
    const checkSavedFile = async (kill: number): Promise<void> => {
      n.saves++
      const bytes = await readFile(file)
      // The first EF BB BF of a UTF-8 file is its byte-order mark, so a text that starts with U+FEFF
      // needs one before it, or it would come back without its first character.
      if (model.startsWith(BOM) && !bytes.subarray(0, 6).equals(Buffer.concat([BOM_BYTES, BOM_BYTES]))) {
        fail(
          `kill ${kill}: the document starts with U+FEFF but the saved file starts with ` +
            `${bytes.subarray(0, 6).toString('hex')}, not efbbbfefbbbf: reopened, it would lose its first character`,
        )
        return
      }
      const saved = (bytes.subarray(0, 3).equals(BOM_BYTES) ? bytes.subarray(3) : bytes).toString('utf8')
      if (saved !== model) {
        const at = firstDifference(model, saved)
        fail(
          `kill ${kill}: the saved file differs from the document at UTF-16 position ${at}: ` +
            `document ${around(model, at)}, file ${around(saved, at)}`,
        )
      }
    }

    /**
     * A document may hold NUL, and `save` writes it; a peer that refuses to open a file with NUL bytes,
     * its own included, would lock the user out of the document. The first time the file holds NUL, a
     * real restart shows whether the peer opens it; if it refuses, that is reported and the file moved
     * out of the way, so the document (linked by path) reopens without it and the run goes on testing
     * what it is for. Later ones are then counted, not restarted into.
     */
    const startPeer = async (kill: number): Promise<PeerProcess> => {
      for (;;) {
        const nul = existsSync(file) && (await readFile(file)).includes(0)
        if (nul && peerRefusesNul === true) {
          n.refusedStarts++
          await rename(file, join(root, 'refused', `${kill}.txt`))
          continue
        }
        const peer = new PeerProcess(file, dataDir)
        if (!nul || peerRefusesNul === false) return peer
        if ((await peer.ready) || peer.killedByTest) {
          peerRefusesNul = false
          return peer
        }
        await peer.closed
        if (!/as text/.test(peer.stderr)) throw new Error(`the peer did not start\n${peer.describe()}`)
        peerRefusesNul = true
        n.refusedStarts++
        fail(
          `kill ${kill}: the peer saved the document, which holds NUL, and then refused to start on its ` +
            `own file: ${peer.stderr.trim().split('\n')[0] ?? ''}`,
        )
        await rename(file, join(root, 'refused', `${kill}.txt`))
      }
    }

    const strayTemps = async (): Promise<number> =>
      (await readdir(folder)).filter((name) => TEMP_FILE.test(name)).length

    let finalPeer: PeerProcess | undefined
    for (let kill = 0; kill <= KILLS; kill++) {
      const final = kill === KILLS
      const plan = final ? undefined : killPlan(killRnd, startups.length > 0 ? median(startups) : 600)
      const peer = await startPeer(kill)
      if (plan?.from === 'spawn') peer.killAfter(plan.delayMs)
      if (!(await peer.ready)) {
        if (!peer.killedByTest) throw new Error(`kill ${kill}: the peer did not start\n${peer.describe()}`)
        n.kills++
        n.startupKills++
        await peer.closed
        continue
      }
      startups.push(peer.startupMs!)
      // The peer removes its file's leftover temps as it opens the file, before it listens.
      if (n.tempsLeft > 0 && (await strayTemps()) > 0) n.tempsKept++
      const view = await peer.send('view --json')
      if (view.kind === 'error') throw new Error(`kill ${kill}: view failed: ${view.message}`)
      if (view.kind === 'ok') {
        const parsed = JSON.parse(view.lines[view.lines.length - 1] ?? '') as { text: string }
        checkRestart(parsed.text, kill)
      }
      if (final) {
        finalPeer = peer
        break
      }
      if (plan!.from === 'ready') peer.killAfter(plan!.delayMs)
      for (let i = 0; view.kind === 'ok'; i++) {
        const forcedSave = plan!.from === 'save' && i === plan!.saveAt
        const step = forcedSave ? SAVE : nextStep(editRnd, model, SAVE_CHANCE)
        if (forcedSave) peer.killAfter(plan!.delayMs)
        const answer = await peer.send(step.command)
        if (answer.kind === 'gone') {
          inFlight = step
          if (step.kind === 'save') n.saveKills++
          break
        }
        if (answer.kind === 'error') {
          // Every generated edit is valid, and a save of a valid document must succeed.
          fail(`kill ${kill}: the peer refused ${shown(step.command)}: ${answer.message}`)
          continue
        }
        remember(step.command)
        if (step.kind === 'save') await checkSavedFile(kill)
        else {
          model = applyEdit(model, step)
          unchecked.push(step)
          n.acked++
        }
      }
      await peer.closed
      n.kills++
      if ((await strayTemps()) > 0) n.tempsLeft++
    }

    // The final start was a clean one: leftovers of killed saves must be gone by now.
    const finalTemps = await strayTemps()
    const exit = await finalPeer!.exit()
    expect(exit, finalPeer!.describe()).toEqual({ code: 0, signal: null })
    const data = await treeStats(dataDir)
    const docBytes = Buffer.byteLength(model, 'utf8')
    const seconds = (performance.now() - started) / 1000
    console.log(
      `cli crash (seed ${SEED}): ${n.kills} kills (${n.startupKills} during start-up, ${n.saveKills} during ` +
        `a save), ${n.checks} restarts checked, ${n.acked} edits acknowledged (in flight at a kill: ` +
        `${n.inFlightApplied} applied, ${n.inFlightDropped} not), ${n.saves} saves checked, ` +
        `${n.lost} acknowledged edits lost; start-up median ${median(startups).toFixed(0)} ms, max ` +
        `${Math.max(...startups).toFixed(0)} ms over ${startups.length} (${(startups.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s in all); stray temp files ${finalTemps} (one was there after ${n.tempsLeft} kills, still there after ${n.tempsKept} starts); ` +
        `data dir ${data.bytes} bytes (${data.temps} temp files) for a document of ${model.length} UTF-16 units / ${docBytes} UTF-8 bytes ` +
        `(${(data.bytes / Math.max(1, docBytes)).toFixed(1)}×); ${n.refusedStarts} saved files the peer ` +
        `refuses to reopen (NUL); ${failures.length} failures; ${seconds.toFixed(1)} s`,
    )
    expect(failures, `${failures.length} failures:\n${failures.slice(0, 10).join('\n')}`).toEqual([])
    expect(n.lost).toBe(0)
    expect(n.kills).toBeGreaterThanOrEqual(KILLS)
    expect(median(startups)).toBeLessThan(2000)
    expect(finalTemps, 'temp files of killed saves left beside the file after a clean start').toBe(0)
    expect(n.tempsKept, "starts that left a killed save's temp file beside the file").toBe(0)
  },
)
