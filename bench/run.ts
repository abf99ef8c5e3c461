/**
 * `npm run bench`: every benchmark suite in one run, or `npm run bench -- <suite>…` for some of them.
 * Each suite prints its own table; suites register themselves in bench/suites.ts.
 */
import { suites } from './suites'

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
async function main(): Promise<void> {
  for (const suite of chosen) {
    console.log(`\n== ${suite.name}: ${suite.description}`)
    await suite.run()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
