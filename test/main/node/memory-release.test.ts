/**
 * releaseMemory gives back what a burst of closed documents held: V8's collections free their buffers,
 * the C heap's free pages go back to the system (malloc-trim.ts), which glibc alone keeps when a chunk
 * still in use sits above them, and V8's young generation shrinks back once the burst has settled.
 * Measured in a process of its own.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const CHILD = join(import.meta.dirname, 'memory-release-child.ts')
const glibc = Boolean(
  (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime,
)

function runChild<T>(mode: 'c-heap' | 'young'): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`child exited ${code}: ${err}`)),
    )
  })
}

it.runIf(process.platform === 'linux' && glibc)(
  'gives the freed buffers of a burst back to the system, though buffers kept sit above them',
  async () => {
    const { before, height, after } = await runChild<{ before: number; height: number; after: number }>(
      'c-heap',
    )
    // The burst held ~200 MB: the child really grew, or the test proves nothing.
    expect(height - before).toBeGreaterThan(150)
    // 20 buffers of 20 KB stay; without the trim, glibc keeps nearly all of the ~200 MB resident.
    expect(after - before).toBeLessThan(40)
  },
)

it('gives back the young generation a burst grew, once the burst has settled', async () => {
  const { grown, sizes } = await runChild<{ grown: number; sizes: number[] }>('young')
  // The churn grew it (V8 starts it at 1 MB), or the test proves nothing.
  expect(grown).toBeGreaterThanOrEqual(16)
  // Right after the burst, V8 keeps it; the collection once it has settled (10 s) gives it back.
  expect(sizes.at(-1)).toBeLessThanOrEqual(4)
}, 40_000)
