/**
 * Gives back the memory of documents that just closed, at once. V8 returns memory to the system only
 * after a full collection has found it free, and when a burst of documents closes while the process is
 * otherwise at rest, it may not run one for a minute or more: its memory reducer waits for a quiet
 * spell and then starts on a timer. Measured on the folder bench: the 2,000 file documents of a joined
 * project, closed together once idle, stayed in the heap (~300 MB used, RSS ~400 MB) for 30–60 s and
 * sometimes past the bench's 60 s window; one full collection takes the heap to its ~20 MB of live
 * objects (RSS ~120 MB).
 *
 * The collection is V8's own `gc()`, exposed as jest exposes it (`--expose-gc` set, then read from a
 * fresh context); it runs as a task of its own, after the closes that asked for it.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { trimMalloc } from './malloc-trim'

export type Collect = (options?: {
  type?: 'major' | 'minor'
  execution?: 'sync' | 'async'
}) => Promise<void> | void

let collect: Collect | null = null

function collector(): Collect {
  if (collect === null) {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as Collect
  }
  return collect
}

/**
 * Runs two full collections, each as a task of its own. The first frees what the closed documents held
 * but leaves the pages it swept committed; the second, with little left to mark, gives them back
 * (measured on 250 MB of garbage: one left 212 MB of heap committed, two 43 MB; 15 and 40 ms).
 */
export async function releaseMemory(): Promise<void> {
  const gc = collector()
  await gc({ type: 'major', execution: 'async' })
  await gc({ type: 'major', execution: 'async' })
  // The buffers those collections freed went back to the C heap, which keeps most of them (malloc-trim.ts).
  trimMalloc()
  settleLater(gc)
}

/**
 * V8 gives back the young generation it grew during the burst (up to 32 MB, twice its 16 MB
 * semi-space) only in a collection that finds the allocation rate of the last few seconds low, and the
 * closes just made it high: measured, a collection 3 s after a burst kept 32 MB, one 9 s after gave all
 * but 1 MB back, and a peer idle for a minute after a join could still hold it. So one more collection
 * once the process has been quiet for a while, and more, closer together, while the young generation
 * is still large (a collection that changes nothing costs ~20 ms): V8 reads "no allocation at all since
 * the last collection" as no measure, not as a low rate, and a process busy when the first came has
 * made its last collections then; the one after a quiet collection finds the rate low. (Folder bench:
 * the sharer's first such collection kept 32 MB, the next gave it back: RSS 127 -> 96 MB.)
 */
const SETTLE_MS = 10_000
const SETTLE_AGAIN_MS = 2_000
const SETTLE_TRIES = 15
/** The young generation's size at rest (V8 starts it at 1 MB), in bytes. */
const YOUNG_AT_REST = 4 * 2 ** 20
let settle: ReturnType<typeof setTimeout> | null = null

const youngGeneration = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0

/** Exported for its test, which gives it a collector and a young generation of its own. */
export function settleLater(
  gc: Collect,
  youngSize: () => number = youngGeneration,
  tries = SETTLE_TRIES,
  delay = SETTLE_MS,
): void {
  if (settle !== null) clearTimeout(settle)
  settle = setTimeout(() => {
    settle = null
    // Only memory is at stake: a collection that fails leaves it for V8's own schedule.
    Promise.resolve(gc({ type: 'major', execution: 'async' }))
      .then(() => {
        trimMalloc()
        if (youngSize() > YOUNG_AT_REST && tries > 1) settleLater(gc, youngSize, tries - 1, SETTLE_AGAIN_MS)
      })
      .catch(() => undefined)
  }, delay)
  settle.unref() // never what keeps a process alive
}
