/**
 * Child of memory-release.test.ts, in a process of its own so that its memory is its own. Argument:
 * - `c-heap`: frees a burst of buffers as closed documents do (most of them, with some kept throughout,
 *   the last one included), gives the memory back with `releaseMemory`, and prints its RSS (MB) before
 *   the burst, at its height, and after.
 * - `young`: makes garbage fast (V8 grows its young generation), gives the memory back, and prints the
 *   young generation's size (MB) then and each second after, until it is small or 20 s have passed.
 */
import { getHeapSpaceStatistics } from 'node:v8'
import { releaseMemory } from '../../../src/main/node/memory-release'

const rss = (): number => process.memoryUsage().rss / 2 ** 20
const young = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size / 2 ** 20
const BUFFERS = 10_000

/** Allocates the burst and returns the buffers kept of it; the rest is garbage once this returns. */
function burst(): Buffer[] {
  const all: Buffer[] = []
  for (let i = 0; i < BUFFERS; i++) {
    // ~20 KB each, as a file's text or an encoded batch: below glibc's mmap threshold, so in its heap.
    all.push(Buffer.alloc(20_000 + (i % 7) * 100, i))
  }
  return all.filter((_, i) => i % 500 === 499)
}

/** Short-lived objects, as decoding a join's batches makes them; returns a few that live on. */
function churn(): object[] {
  const kept: object[] = []
  for (let round = 0; round < 200; round++) {
    const batch: object[] = []
    for (let i = 0; i < 50_000; i++) batch.push({ i, text: `op ${i}` })
    kept.push(batch[round]!)
  }
  return kept
}

async function cHeap(): Promise<void> {
  const before = rss()
  const kept = burst()
  const height = rss()
  await releaseMemory()
  console.log(JSON.stringify({ before, height, after: rss(), kept: kept.length }))
}

async function youngGeneration(): Promise<void> {
  const kept = churn()
  const grown = young()
  await releaseMemory()
  const sizes = [young()]
  while (sizes.at(-1)! > 4 && sizes.length <= 20) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    sizes.push(young())
  }
  console.log(JSON.stringify({ grown, sizes, kept: kept.length }))
}

void (process.argv[2] === 'young' ? youngGeneration() : cHeap())
