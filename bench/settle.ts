/**
 * Collects the garbage that earlier steps left, so that a timing or a heap reading does not include a
 * collection (or the garbage) of work it did not do. Several passes, yielding in between, because
 * finalizers and weak callbacks free more on the next pass.
 */
export async function settle(passes = 4): Promise<void> {
  const gc = globalThis.gc
  if (!gc) throw new Error('Run with --expose-gc (npm run bench does) to measure after a full GC.')
  for (let i = 0; i < passes; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}
