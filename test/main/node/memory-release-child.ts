/**
 * Child of memory-release.test.ts, in a process of its own so that its RSS is its own: frees a burst of
 * buffers as closed documents do (most of them, with some kept throughout, the last one included), gives
 * the memory back with `releaseMemory`, and prints its RSS (MB) before the burst, at its height, and after.
 */
import { releaseMemory } from '../../../src/main/node/memory-release'

const rss = (): number => process.memoryUsage().rss / 2 ** 20
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

async function main(): Promise<void> {
  const before = rss()
  const kept = burst()
  const height = rss()
  await releaseMemory()
  console.log(JSON.stringify({ before, height, after: rss(), kept: kept.length }))
}

void main()
