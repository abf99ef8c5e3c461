/** inParallel: every item once, never more than `limit` at a time, and a failure only once all settled. */
import { describe, expect, it } from 'vitest'
import { inParallel } from '../../../src/main/storage/in-parallel'

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('inParallel', () => {
  it('runs every item once, at most `limit` at a time', async () => {
    let running = 0
    let most = 0
    const done: number[] = []
    await inParallel(
      Array.from({ length: 40 }, (_, i) => i),
      6,
      async (i) => {
        running++
        most = Math.max(most, running)
        await tick(i % 3)
        running--
        done.push(i)
      },
    )
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    expect(most).toBe(6)
  })

  it('throws the first error, after every other item has finished', async () => {
    const done: number[] = []
    const run = inParallel([0, 1, 2, 3, 4, 5], 2, async (i) => {
      await tick(i)
      if (i === 1) throw new Error('item 1 failed')
      done.push(i)
    })
    await expect(run).rejects.toThrow('item 1 failed')
    expect(done.sort()).toEqual([0, 2, 3, 4, 5])
  })

  it('refuses a limit that is not a positive integer', async () => {
    await expect(inParallel([1], 0, async () => undefined)).rejects.toThrow(RangeError)
  })
})
