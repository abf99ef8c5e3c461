/**
 * Typed storage errors. Each says what happened, to which file, and what the user can do; every one of
 * them leaves the in-memory document intact, so the advice never needs to be "start over".
 * `code` is stable and travels over the app API as `ApiError.code`.
 */
import { errnoCode } from './fs-layer'

export type StorageErrorCode =
  | 'DISK_FULL'
  | 'READ_ONLY'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'NOT_A_FILE'
  | 'BAD_NAME'
  | 'IO'
  | 'CORRUPT'
  | 'NOT_TEXT'
  | 'CLOSED'

export class StorageError extends Error {
  readonly code: StorageErrorCode
  /** The file or directory concerned. */
  readonly path: string
  /** The underlying system error code (ENOSPC, EIO…), when there was one. */
  readonly errno: string | undefined

  constructor(code: StorageErrorCode, path: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StorageError'
    this.code = code
    this.path = path
    this.errno = errnoCode(options.cause)
  }
}

/** Every snapshot of a document failed its checksum and its log cannot rebuild it. Nothing was modified. */
export class CorruptStoreError extends StorageError {
  readonly files: readonly string[]
  constructor(docId: string, files: readonly string[], detail: string) {
    super(
      'CORRUPT',
      files[0] ?? docId,
      `Document ${docId} cannot be loaded: no valid snapshot remains (${files.join(', ')}: ${detail}) and ` +
        'its op log does not reach back to an empty document. Meshpad has not modified these files; restore ' +
        'them from a backup, or move the folder away to start the document again from a peer.',
    )
    this.name = 'CorruptStoreError'
    this.files = files
  }
}

const CODES: Record<string, StorageErrorCode> = {
  ENOSPC: 'DISK_FULL',
  EDQUOT: 'DISK_FULL',
  EROFS: 'READ_ONLY',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  ENOENT: 'NOT_FOUND',
  ENOTDIR: 'NOT_FOUND',
  EISDIR: 'NOT_A_FILE',
  ENAMETOOLONG: 'BAD_NAME',
}

const ADVICE: Record<StorageErrorCode, string> = {
  DISK_FULL: 'the disk is full. Free some space, then try again',
  READ_ONLY: 'the file or the disk is read-only. Use Save As to write it somewhere else',
  PERMISSION_DENIED:
    'permission was denied. Check the permissions of the file and its folder, or use Save As to write it elsewhere',
  NOT_FOUND:
    'the file or its folder no longer exists (deleted or renamed while open). Use Save As to write it again',
  NOT_A_FILE: 'it is a folder, not a file',
  BAD_NAME: 'the name is too long for this disk. Choose a shorter name',
  IO: 'the disk reported an input/output error. It may be failing or disconnected; try again or save elsewhere',
  CORRUPT: 'the data is corrupt',
  NOT_TEXT: 'it is not text',
  CLOSED: 'it has already been closed',
}

const UNEXPECTED = 'the system refused with an unexpected error. Try again, or save elsewhere'

/**
 * Wraps a failed filesystem call. `action` completes "Could not … <path>", e.g. 'save', 'write the op log of'.
 * A StorageError passes through unchanged so wrapping twice is harmless.
 */
export function toStorageError(err: unknown, action: string, path: string): StorageError {
  if (err instanceof StorageError) return err
  const errno = errnoCode(err)
  const code: StorageErrorCode = (errno && CODES[errno]) || 'IO'
  const detail = errno ? ` (${errno})` : err instanceof Error ? ` (${err.message})` : ''
  if (code === 'NOT_A_FILE') return notAFile(path, action, err)
  // Only EIO is the disk's own report: any other error the system gives is not called a failing disk.
  const advice = code === 'IO' && errno !== 'EIO' ? UNEXPECTED : ADVICE[code]
  return new StorageError(
    code,
    path,
    `Could not ${action} ${path}: ${advice}${detail}. Your document is kept in Meshpad; nothing was lost.`,
    { cause: err },
  )
}

/**
 * `path` is a folder where a file was expected (EISDIR). Opening or saving the user's file (actions
 * 'open' and 'save') asks for a file instead; elsewhere (Meshpad's own files) the folder is in the way.
 */
export function notAFile(path: string, action: string, cause?: unknown): StorageError {
  const message =
    action === 'open'
      ? `${path} is a folder, not a file: choose a text file.`
      : action === 'save'
        ? `${path} is a folder, not a file: choose a file name to save to (inside that folder, for ` +
          'example). Your document is kept in Meshpad; nothing was lost.'
        : `Could not ${action} ${path}: it is a folder where Meshpad expected a file. Move the folder ` +
          'away, then try again.'
  return new StorageError('NOT_A_FILE', path, message, cause === undefined ? {} : { cause })
}

export function closedError(what: string): StorageError {
  return new StorageError('CLOSED', what, `${what} is closed.`)
}
