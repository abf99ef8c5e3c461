/**
 * A StorageFs that fails on purpose: the Nth call of an operation throws a Node-style system error
 * (ENOSPC, EIO, EACCES…), optionally after writing part of the buffer, as a nearly full disk does.
 * Also counts calls and can hold fsyncs at a gate, to prove that nothing resolves before its fsync.
 */
import { nodeFs, type OpenFlags, type StorageFile, type StorageFs } from '../../../src/main/storage/fs-layer'

export type FaultOp =
  'open' | 'write' | 'sync' | 'rename' | 'truncate' | 'chmod' | 'readFile' | 'mkdir' | 'unlink'

export interface Fault {
  readonly op: FaultOp
  /** 1-based number of the call of `op` (counting every call, whatever the path) that fails. */
  readonly nth: number
  readonly code: string
  /** How many calls fail from the Nth on; default 1. */
  readonly times?: number
  /** For writes: write half of the buffer before failing. */
  readonly partial?: boolean
  /** Only calls whose path contains this fail. */
  readonly pathIncludes?: string
}

export function systemError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: injected fault, ${syscall} '${path}'`), { code, syscall, path })
}

export class FaultyFs implements StorageFs {
  readonly counts = new Map<FaultOp, number>()
  readonly faults: Fault[] = []
  /** Faults that fired, with the path they hit. */
  readonly fired: { fault: Fault; path: string }[] = []
  /** If set, every fsync of a path containing `syncGate.pathIncludes` waits for `syncGate.open`. */
  syncGate: { pathIncludes: string; open: Promise<void> } | null = null
  /** Files opened and not yet closed, to prove that closing releases every handle. */
  openHandles = 0
  private readonly inner: StorageFs

  constructor(inner: StorageFs = nodeFs) {
    this.inner = inner
  }

  /** Adds a fault; its `nth` counts calls from now on. */
  inject(fault: Fault): this {
    this.faults.push({ ...fault, nth: fault.nth + this.count(fault.op) })
    return this
  }

  count(op: FaultOp): number {
    return this.counts.get(op) ?? 0
  }

  /** Counts every call of `op`; returns the fault that fires on this one, if any. */
  private check(op: FaultOp, path: string): Fault | undefined {
    const n = this.count(op) + 1
    this.counts.set(op, n)
    const fault = this.faults.find(
      (f) =>
        f.op === op &&
        n >= f.nth &&
        n < f.nth + (f.times ?? 1) &&
        (f.pathIncludes === undefined || path.includes(f.pathIncludes)),
    )
    if (fault) this.fired.push({ fault, path })
    return fault
  }

  private fail(op: FaultOp, path: string): void {
    const fault = this.check(op, path)
    if (fault) throw systemError(fault.code, op, path)
  }

  async open(path: string, flags: OpenFlags, mode?: number): Promise<StorageFile> {
    this.fail('open', path)
    const file = await this.inner.open(path, flags, mode)
    this.openHandles++
    let closed = false
    return {
      write: async (data) => {
        const fault = this.check('write', path)
        if (fault) {
          if (fault.partial && data.byteLength > 1) await file.write(data.subarray(0, data.byteLength >> 1))
          throw systemError(fault.code, 'write', path)
        }
        return file.write(data)
      },
      sync: async () => {
        // Held first, then failed: a failing disk can take its time to say so.
        if (this.syncGate && path.includes(this.syncGate.pathIncludes)) await this.syncGate.open
        this.fail('sync', path)
        return file.sync()
      },
      truncate: async (length) => {
        this.fail('truncate', path)
        return file.truncate(length)
      },
      chmod: async (m) => {
        this.fail('chmod', path)
        return file.chmod(m)
      },
      close: async () => {
        if (!closed) this.openHandles--
        closed = true
        return file.close()
      },
    }
  }

  async readFile(path: string, room?: number): Promise<Uint8Array> {
    this.fail('readFile', path)
    return this.inner.readFile(path, room)
  }
  async rename(from: string, to: string): Promise<void> {
    this.fail('rename', to)
    return this.inner.rename(from, to)
  }
  async unlink(path: string): Promise<void> {
    this.fail('unlink', path)
    return this.inner.unlink(path)
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path)
  }
  async mkdir(path: string): Promise<boolean> {
    this.fail('mkdir', path)
    return this.inner.mkdir(path)
  }
  rmTree(path: string): Promise<void> {
    return this.inner.rmTree(path)
  }
  lstat(path: string) {
    return this.inner.lstat(path)
  }
  stat(path: string) {
    return this.inner.stat(path)
  }
  realpath(path: string): Promise<string> {
    return this.inner.realpath(path)
  }
}
