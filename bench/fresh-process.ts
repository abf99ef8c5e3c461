/**
 * Runs one measurement in a fresh Node process and returns what it printed. Why: in one process the
 * contenders share a heap and the JIT, so the order they run in and what ran before decide the figures
 * (issue 14: a library timed after another one's garbage, or code the JIT had already tuned for a
 * different caller). A child per measurement starts every contender from the same cold state.
 *
 * Protocol: `node --expose-gc --import tsx <script> '<request as JSON>'`; the child prints its result as
 * JSON on its last line of stdout and exits 0. Anything it prints before that line is ignored.
 */
import { spawn } from 'node:child_process'

/** The same flags `npm run bench` gives the parent: TypeScript through tsx, and `gc()` for settle(). */
const EXEC_ARGV = ['--expose-gc', '--import', 'tsx']

export function runFresh<T>(script: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...EXEC_ARGV, script, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => {
      const last = out.trimEnd().split('\n').at(-1) ?? ''
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as T)
      else reject(new Error(`${script} ${JSON.stringify(request)} exited with ${code}:\n${out}${err}`))
    })
  })
}

/** How many rounds a suite runs: `runs`, or MESHPAD_BENCH_RUNS (a positive integer) for a quick look. */
export function benchRuns(runs: number, env = process.env.MESHPAD_BENCH_RUNS): number {
  if (env === undefined || env === '') return runs
  const n = Number(env)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`MESHPAD_BENCH_RUNS must be a positive integer, not ${env}`)
  return n
}

/** The child's side of the protocol: answers the request in argv with one line of JSON. */
export function answer<Req, Res>(handle: (request: Req) => Promise<Res>): void {
  const raw = process.argv[2]
  if (raw === undefined) {
    console.error('Expected the request as JSON in the first argument.')
    process.exit(2)
  }
  handle(JSON.parse(raw) as Req).then(
    (result) => console.log(JSON.stringify(result)),
    (err: unknown) => {
      console.error(err)
      process.exitCode = 1
    },
  )
}
