/**
 * The few filesystem calls storage makes, behind an interface so that tests can inject faults (disk full,
 * I/O errors, permission denied on the Nth write, fsync or rename) that a root test process could never
 * provoke with chmod. `nodeFs` is the real thing.
 */
import { promises as fsp, writeSync } from 'node:fs'

/** Writes up to this size are synchronous (see `nodeFs.open`); larger ones go to the thread pool. */
const SYNC_WRITE_MAX = 64 * 1024

export interface FileStat {
  readonly size: number
  /** Permission and file-type bits, as `fs.Stats.mode`. */
  readonly mode: number
  readonly mtimeMs: number
  readonly ino: number
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
}

/** An open file. `write` appends at the current position and may write fewer bytes than asked. */
export interface StorageFile {
  write(data: Uint8Array): Promise<number>
  sync(): Promise<void>
  truncate(length: number): Promise<void>
  chmod(mode: number): Promise<void>
  close(): Promise<void>
}

/** 'a': create or append; 'wx': create, fail if it exists; 'r': read only (used to fsync directories). */
export type OpenFlags = 'a' | 'wx' | 'r'

export interface StorageFs {
  open(path: string, flags: OpenFlags, mode?: number): Promise<StorageFile>
  /**
   * The file's bytes. With `room`, that many bytes are left free before them in their buffer, the
   * caller's to write into (a record's head: Utf8Bytes in shared/crdt).
   */
  readFile(path: string, room?: number): Promise<Uint8Array>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** Names in a directory; rejects with ENOENT when the directory does not exist. */
  readdir(path: string): Promise<string[]>
  /** Creates the directory and its parents; no error if it exists. True if it made `path`. */
  mkdir(path: string): Promise<boolean>
  /** Removes a directory tree; no error if it does not exist. */
  rmTree(path: string): Promise<void>
  stat(path: string): Promise<FileStat>
  /** As `stat`, of a symlink itself rather than what it points to. */
  lstat(path: string): Promise<FileStat>
  realpath(path: string): Promise<string>
}

export const nodeFs: StorageFs = {
  async open(path, flags, mode) {
    const handle = await fsp.open(path, flags, mode)
    return {
      // A small write (a keystroke's log record) is done here and now: it only copies into the OS's
      // cache, which is faster than a hop to the thread pool and back, and an edit is sent once written.
      write: async (data) =>
        data.byteLength <= SYNC_WRITE_MAX
          ? writeSync(handle.fd, data, 0, data.byteLength, null)
          : (await handle.write(data, 0, data.byteLength, null)).bytesWritten,
      sync: () => handle.sync(),
      truncate: (length) => handle.truncate(length),
      chmod: (m) => handle.chmod(m),
      close: () => handle.close(),
    }
  },
  readFile: async (path, room = 0) => {
    if (room > 0) return readWithRoom(path, room)
    const b = await fsp.readFile(path)
    // A plain view, so callers and tests see one type whichever fs layer produced the bytes.
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (path) => fsp.readdir(path),
  // The first folder made, or undefined if `path` existed (then so did its parents).
  mkdir: async (path) => (await fsp.mkdir(path, { recursive: true })) !== undefined,
  rmTree: (path) => fsp.rm(path, { recursive: true, force: true }),
  stat: (path) => fsp.stat(path),
  lstat: (path) => fsp.lstat(path),
  realpath: (path) => fsp.realpath(path),
}

/**
 * As `fsp.readFile` (the bytes up to the size the file had when opened, fewer if it shrank), into a
 * buffer with `room` bytes free before them.
 */
async function readWithRoom(path: string, room: number): Promise<Uint8Array> {
  const handle = await fsp.open(path, 'r')
  try {
    const size = (await handle.stat()).size
    if (size === 0) {
      // No size to go by (an empty file, or one the kernel makes up as it is read): read it whole.
      const b = await handle.readFile()
      const buf = new Uint8Array(room + b.byteLength)
      buf.set(b, room)
      return buf.subarray(room)
    }
    const buf = new Uint8Array(room + size)
    let end = room
    while (end < buf.length) {
      const { bytesRead } = await handle.read(buf, end, buf.length - end, end - room)
      if (bytesRead === 0) break
      end += bytesRead
    }
    return buf.subarray(room, end)
  } finally {
    await handle.close()
  }
}

/** Writes all of `data`, looping over short writes (a nearly full disk can accept part of a buffer). */
export async function writeAll(file: StorageFile, data: Uint8Array): Promise<void> {
  let done = 0
  while (done < data.byteLength) {
    const n = await file.write(data.subarray(done))
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' })
    done += n
  }
}

/** Filesystems that cannot fsync a directory say so with one of these; the rename is then as durable as it gets. */
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR'])

/**
 * Makes a rename or a new file in `dir` durable. Windows cannot open a directory for fsync (and NTFS
 * journals renames itself), so it is skipped there.
 */
export async function syncDir(
  fs: StorageFs,
  dir: string,
  platform: string = process.platform,
): Promise<void> {
  if (platform === 'win32') return
  let handle: StorageFile
  try {
    handle = await fs.open(dir, 'r')
  } catch (err) {
    if (DIR_SYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) return
    throw err
  }
  try {
    await handle.sync()
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) throw err
  } finally {
    await handle.close()
  }
}

/** The `code` of a Node system error (ENOENT, ENOSPC…), if it is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code
  return undefined
}
