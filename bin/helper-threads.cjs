// Runs V8's helper threads at the lowest CPU priority (nice 19), so that they take only CPU that no
// event loop is waiting for. The `meshpad` command (meshpad.cjs) calls this first thing.
//
// Why: V8 compiles hot functions with its optimizing compiler and marks the heap on helper threads of
// its own, at the priority of the event loop that applies and relays peers' keystrokes. Peers run the
// same code on the same ops, so they reach a function's compile threshold with the same keystroke: on
// the mesh bench (16 peers on 2 cores) the compile threads of 15 processes took ~0.8 of a core in the
// same 250 ms, and every keystroke in flight waited (perf). At nice 19 that work waits for idle CPU; on
// an idle core it still runs at full speed, and the CPU per keystroke did not change. The bench's p99
// of keystroke → every peer went from 23-32 ms to 17-23 ms (benches of three meshes, alternating).
//
// What it lowers: every thread of the process but the main one, when called. At the command's start
// those are V8's (its platform's workers and delayed-task thread) and Node's inspector signal thread,
// which sleeps. libuv's pool (file I/O, fsync) starts on first use, later, from the main thread, whose
// priority it takes: file work someone waits for is not made to wait for the CPU. (So this must run
// before anything loads TypeScript through tsx or reads a file asynchronously.)
//
// Only under Node on Linux, where a nice value is a thread's own and /proc lists a process's threads.
// Not in Electron, whose threads Chromium's scheduler already prioritises (its I/O thread carries the
// windows' IPC). It never throws: a thread that is gone or refuses is left as it is.
'use strict'
const { readdirSync } = require('node:fs')
const { setPriority } = require('node:os')

/** The lowest priority: the helpers get the CPU that the normal-priority threads leave. */
const HELPER_NICE = 19

/** Lowers every thread but the main one to HELPER_NICE; returns how many it lowered. */
function lowerHelperThreads() {
  if (process.platform !== 'linux' || process.versions.electron !== undefined) return 0
  let tids
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

module.exports = { lowerHelperThreads }
