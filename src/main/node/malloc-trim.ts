/**
 * Gives the C heap's free pages back to the system: glibc's `malloc_trim(0)`, called through koffi (a
 * maintained FFI with Node-API builds for every platform inside its package, so one binary serves Node
 * and Electron and nothing is compiled or downloaded at install).
 *
 * Why: in Node, every ArrayBuffer past a few bytes (a file read, an encoded batch, a frame) lives in
 * the C heap. After a burst (a 2,000-file project shared or joined) they are freed, but glibc gives
 * memory back only from the top of its heap: pages freed below a chunk still in use stay resident. On
 * the folder bench, an idle peer whose file documents had all closed, with 26 MB live (V8 and
 * external), kept 55-70 MB of such free pages; `malloc_trim(0)` gave them back in one call of 5-40 ms.
 *
 * Only on Linux with glibc: elsewhere (musl has no trim, macOS and Windows allocators give back on
 * their own terms) it does nothing. It never throws: trimming only saves memory.
 */
import { createRequire } from 'node:module'

type Trim = (pad: number) => number

let trim: Trim | null | undefined

function loadTrim(): Trim | null {
  if (process.platform !== 'linux') return null
  try {
    // Loaded on first use (~10 ms): a process that never gives back a burst never maps it. Without glibc
    // (musl names its C library otherwise, and has no malloc_trim) the load throws: nothing to trim.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi')
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as Trim
  } catch {
    return null
  }
}

/**
 * Returns the C heap's free pages to the system. Returns whether it could (glibc does not tell "none
 * to give back" apart from "gave back"); false where there is no trim.
 */
export function trimMalloc(): boolean {
  trim ??= loadTrim()
  if (trim === null) return false
  try {
    trim(0)
    return true
  } catch {
    return false
  }
}
