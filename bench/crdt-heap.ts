/**
 * Heap probe of the `crdt` benchmark, run by it as a child process: how much memory one loaded document
 * keeps. A fresh process per measurement, because diamond-types' wasm memory never shrinks (a document
 * loaded after a replay fits in memory the replay freed) and the parent's earlier runs leave garbage.
 * Protocol: receives one HeapRequest over IPC (advanced serialization), answers one HeapResult, exits.
 */
import { findCrdtLib } from './crdt-libs'

export interface HeapRequest {
  readonly lib: string
  /** `save()` bytes of the whole trace. */
  readonly bytes: Uint8Array
  /** `save()` bytes of a short prefix of the trace, loaded first so that compiling the load path is not counted. */
  readonly warmup: Uint8Array
  readonly endContent: string
}

/** Growth across the load, in bytes, after forced GCs. `external` includes ArrayBuffers and wasm memory. */
export interface HeapResult {
  readonly heapUsed: number
  readonly external: number
}

/** Loaded documents stay referenced here until the process exits. */
const retained: unknown[] = []

async function settle(): Promise<void> {
  const gc = globalThis.gc
  if (!gc) throw new Error('The heap probe needs --expose-gc.')
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function measure(req: HeapRequest): Promise<HeapResult> {
  const lib = findCrdtLib(req.lib)
  const warm = lib.load(req.warmup)
  lib.text(warm)
  lib.free?.(warm)
  await settle()
  const before = process.memoryUsage()
  const doc = lib.load(req.bytes)
  retained.push(doc)
  if (lib.text(doc) !== req.endContent)
    throw new Error(`${lib.name}: the loaded text differs from endContent`)
  await settle()
  const after = process.memoryUsage()
  return { heapUsed: after.heapUsed - before.heapUsed, external: after.external - before.external }
}

process.once('message', (req: HeapRequest) => {
  measure(req).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(err)
      process.exit(1)
    },
  )
})
