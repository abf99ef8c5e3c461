/**
 * Runs V8's helper threads at the lowest CPU priority (nice 19), so that they take only CPU that no event
 * loop is waiting for: the `meshpad` command calls this first thing.
 *
 * Why: V8 compiles hot functions with its optimizing compiler and marks the heap on helper threads of
 * its own, at the priority of the event loop that applies and relays peers' keystrokes. Peers run the same
 * code on the same ops, so they reach each function's compile threshold with the same keystroke: on the
 * mesh bench (16 peers on 2 cores) the compile threads of 15 processes took ~0.8 of a core in the same
 * 250 ms, and every keystroke in flight waited (perf). At nice 19 that work waits for idle CPU instead;
 * it still runs at full speed on an idle core, and the CPU per keystroke did not change. The p99 of
 * keystroke → every peer fell from ~27 to ~20 ms there.
 *
 * What it lowers: every thread of the process but the main one, when called. At the start of the
 * command those are V8's (its platform's workers and delayed-task thread) and Node's inspector signal
 * thread, which sleeps. libuv's pool (file I/O, fsync) starts on first use, from the main thread, whose
 * priority it takes: file work someone waits for is not made to wait for the CPU.
 *
 * Only under Node on Linux, where a nice value is a thread's own and /proc lists a process's threads.
 * Not in Electron, whose threads Chromium's scheduler already prioritises (its I/O thread carries the
 * windows' IPC). It never throws: a thread that is gone or refuses is left as it is.
 */
import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'

/** The lowest priority: the helpers get the CPU that the normal-priority threads leave. */
const HELPER_NICE = 19

let called = false

/**
 * Lowers every thread but the main one to HELPER_NICE, on the first call in the process; later calls do
 * nothing (V8's helpers are there from the start, and threads started since are libuv's). Returns how
 * many it lowered.
 */
export function lowerHelperThreads(): number {
  if (called) return 0
  called = true
  if (process.platform !== 'linux' || process.versions['electron'] !== undefined) return 0
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return 0
  }
  let lowered = 0
  for (const tid of tids) {
    // The main thread's ID is the process's.
    if (Number(tid) === process.pid) continue
    try {
      setPriority(Number(tid), HELPER_NICE)
      lowered++
    } catch {
      // Exited since it was listed: nothing to lower.
    }
  }
  return lowered
}
