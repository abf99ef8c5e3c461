/**
 * releaseMemory gives back what a burst of closed documents held: V8's collections free their buffers,
 * the C heap's free pages go back to the system (malloc-trim.ts), which glibc alone keeps when a chunk
 * still in use sits above them, and V8's young generation shrinks back once the burst has settled.
 * Measured in a process of its own.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { settleLater } from '../../../src/main/node/memory-release'
import { jsonFromChild } from '../../support/json-child'

const CHILD = join(import.meta.dirname, 'memory-release-child.ts')
const glibc = Boolean(
  (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime,
)

const runChild = <T>(mode: 'c-heap' | 'young'): Promise<T> =>
  jsonFromChild<T>(['--import', 'tsx', CHILD, mode])

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
  // Back to its size at rest within 20 s: V8 left alone kept 32 MB for all of them (measured), and the
  // collection 10 s after the release, once the burst has settled, gives it back.
  expect(sizes.at(-1)).toBeLessThanOrEqual(4)
}, 40_000)

describe('the collections once a burst has settled', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('collect 10 s after it, then every 2 s while the young generation stays large, and stop', async () => {
    vi.useFakeTimers()
    const MB = 2 ** 20
    const sizes = [32 * MB, 32 * MB, 1 * MB]
    const collect = vi.fn(async () => undefined)
    settleLater(collect, () => sizes[collect.mock.calls.length - 1] ?? 1 * MB)
    await vi.advanceTimersByTimeAsync(9_999)
    expect(collect).toHaveBeenCalledTimes(0)
    await vi.advanceTimersByTimeAsync(1) // 10 s: still 32 MB after it
    expect(collect).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(2_000) // 12 s: still 32 MB
    expect(collect).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(2_000) // 14 s: 1 MB, given back
    expect(collect).toHaveBeenCalledTimes(3)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(collect).toHaveBeenCalledTimes(3)
  })

  it('give up after a few tries if it never shrinks', async () => {
    vi.useFakeTimers()
    const collect = vi.fn(async () => undefined)
    settleLater(collect, () => 32 * 2 ** 20)
    await vi.advanceTimersByTimeAsync(600_000)
    expect(collect.mock.calls.length).toBeGreaterThan(2)
    expect(collect.mock.calls.length).toBeLessThanOrEqual(15)
  })
})
