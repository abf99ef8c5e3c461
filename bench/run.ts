/**
 * `npm run bench`: every benchmark suite in one run, or `npm run bench -- <suite>…` for some of them.
 * Each suite prints its own table; suites register themselves in bench/suites.ts.
 *
 * Several suites: each runs in a fresh process of its own, one after another, as if run alone. In one
 * process, a suite ran on the heap, JIT state and GC debt the suites before it left: the paths suite,
 * ninth in the run, took 1.8× as long for 20,000 replicas' inserts at one place (341 ms against 190 in
 * a process of its own the same hour) and for friendsforever in random order, and missed two goals that
 * it meets alone.
 */
import { spawn } from 'node:child_process'
import { suites, type BenchSuite } from './suites'

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const chosen = only.length > 0 ? suites.filter((s) => only.includes(s.name)) : suites
if (only.length > 0 && chosen.length === 0) {
  console.error(`No benchmark suite named ${only.join(', ')}. Known: ${suites.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
if (typeof globalThis.gc !== 'function') {
  console.error('Run with --expose-gc (npm run bench does) so heap figures are measured after a full GC.')
  process.exit(2)
}

async function runHere(suite: BenchSuite): Promise<void> {
  console.log(`\n== ${suite.name}: ${suite.description}`)
  await suite.run()
}

/** `suite` in a fresh process with this one's node flags; resolves with whether it succeeded. */
function runAlone(suite: BenchSuite): Promise<boolean> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, suite.name], {
    stdio: 'inherit',
  })
  return new Promise((resolve) => {
    child.once('error', () => resolve(false))
    child.once('exit', (code) => resolve(code === 0))
  })
}

async function main(): Promise<void> {
  if (chosen.length === 1) return runHere(chosen[0]!)
  const failed: string[] = []
  for (const suite of chosen) if (!(await runAlone(suite))) failed.push(suite.name)
  if (failed.length > 0) {
    console.error(`\nbench: ${failed.join(', ')} failed (see above)`)
    process.exit(1)
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
