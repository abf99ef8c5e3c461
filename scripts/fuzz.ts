/**
 * Randomized convergence fuzzing of TextDoc, using the harness the test suite uses.
 *
 *   npm run fuzz -- --seconds 600              fresh random seeds until time is up
 *   npm run fuzz -- --seed N [--replicas K --steps S] [--verbose]   rerun one case
 *
 * Exits 1 on the first failure, after printing the one-line command that reproduces it.
 */
import { randomInt } from 'node:crypto'
import { parseArgs } from 'node:util'
import {
  ConvergenceFailure,
  caseForSeed,
  reproducer,
  runConvergenceCase,
  type FuzzCase,
} from '../test/shared/crdt/harness'

const USAGE = `usage: npm run fuzz -- [--seconds N] | --seed N [--replicas K] [--steps S] [--verbose]`

function parseIntArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}\n${USAGE}`)
    process.exit(2)
  }
  return Number(value)
}

function report(error: unknown, fuzzCase: FuzzCase): never {
  if (error instanceof ConvergenceFailure) {
    console.error(error.message)
    if (error.cause instanceof Error && error.cause.stack) console.error(`\n${error.cause.stack}`)
  } else {
    console.error(error)
  }
  console.error(`\nFAILED — reproduce with:\n${reproducer(fuzzCase)}`)
  process.exit(1)
}

function rerun(
  seed: number,
  replicas: number | undefined,
  steps: number | undefined,
  verbose: boolean,
): void {
  const derived = caseForSeed(seed)
  const fuzzCase: FuzzCase = {
    seed: derived.seed,
    replicas: replicas ?? derived.replicas,
    steps: steps ?? derived.steps,
  }
  console.log(`running ${reproducer(fuzzCase)}`)
  try {
    const stats = runConvergenceCase(fuzzCase, verbose ? { trace: (line) => console.log(line) } : {})
    console.log(`ok: ${JSON.stringify(stats)}`)
  } catch (error) {
    report(error, fuzzCase)
  }
}

function fuzzFor(seconds: number): void {
  const start = Date.now()
  const deadline = start + seconds * 1000
  let nextReport = start + 10_000
  let seeds = 0
  let steps = 0
  console.log(`fuzzing TextDoc with fresh random seeds for ${seconds} s`)
  while (Date.now() < deadline) {
    const fuzzCase = caseForSeed(randomInt(0x1_0000_0000))
    try {
      runConvergenceCase(fuzzCase)
    } catch (error) {
      report(error, fuzzCase)
    }
    seeds++
    steps += fuzzCase.steps
    const now = Date.now()
    if (now >= nextReport) {
      const elapsed = (now - start) / 1000
      console.log(
        `${elapsed.toFixed(0)} s: ${seeds} seeds, ${(seeds / elapsed).toFixed(1)} seeds/s, ${steps} steps`,
      )
      nextReport = now + 10_000
    }
  }
  console.log(`done: ${seeds} seeds, ${steps} steps in ${seconds} s, no failures`)
}

function main(): void {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        seconds: { type: 'string' },
        seed: { type: 'string' },
        replicas: { type: 'string' },
        steps: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    })
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
    process.exit(2)
  }
  const { values } = parsed
  if (values.help) {
    console.log(USAGE)
    return
  }
  const seed = parseIntArg('seed', values.seed)
  const replicas = parseIntArg('replicas', values.replicas)
  const steps = parseIntArg('steps', values.steps)
  if (seed !== undefined) {
    if (seed > 0xffff_ffff) {
      console.error(`--seed must be below 2^32\n${USAGE}`)
      process.exit(2)
    }
    rerun(seed, replicas, steps, values.verbose)
    return
  }
  if (replicas !== undefined || steps !== undefined) {
    console.error(`--replicas and --steps need --seed\n${USAGE}`)
    process.exit(2)
  }
  fuzzFor(parseIntArg('seconds', values.seconds) ?? 60)
}

main()
