/**
 * Lists a shared folder as Meshpad shares it (folder-rules.ts): its folders and text files, each file
 * with its text, and the files it leaves out, each with the reason, for the UI to show. Paths are
 * relative to the folder, with `/` separators, in a stable order (by name, folders before their
 * contents).
 *
 * It walks with lstat and never follows a symbolic link: a link can lead out of the folder, and
 * following it would hand every member files that were never in it (or loop). Links are listed as left
 * out. An ignored folder is not entered, so `node_modules/` costs one lstat, not one per file.
 */
import { join } from 'node:path'
import { badName } from '../../shared/tree/tree-ops'
import { StorageError, toStorageError } from '../storage/errors'
import { errnoCode, nodeFs, type StorageFs } from '../storage/fs-layer'
import { inParallel } from '../storage/in-parallel'
import { hashBytes } from '../storage/text-file'
import { decodeText, type TextFormat } from '../storage/text-format'
import { FolderRules, MAX_SHARED_BYTES } from './folder-rules'

/** A folder with more entries than this is refused: it is not a project, and would not fit a replica. */
export const MAX_FOLDER_ENTRIES = 100_000
/** A `.gitignore` larger than this is not read (a generated one that size would be a mistake). */
const MAX_GITIGNORE_BYTES = 1024 * 1024

export interface SharedFile {
  readonly path: string
  readonly text: string
  readonly format: TextFormat
  /** sha256 of the bytes on disk: to tell a change by another program from Meshpad's own write. */
  readonly hash: string
  readonly size: number
}

export type LeftOutReason = 'binary' | 'too-large' | 'symlink' | 'special' | 'bad-name' | 'unreadable'

export interface LeftOutFile {
  readonly path: string
  readonly why: LeftOutReason
  /** For 'unreadable': what the system said. */
  readonly detail?: string
}

export interface FolderScan {
  readonly folders: string[]
  readonly files: SharedFile[]
  readonly leftOut: LeftOutFile[]
  /** Entries the ignore rules left out (not listed: `node_modules/` alone can hold 100,000). */
  ignored: number
}

/** A folder that cannot be shared as it is; the message says why and what to do. */
export class FolderError extends Error {
  constructor(
    readonly code: 'NOT_A_FOLDER' | 'TOO_MANY_ENTRIES',
    message: string,
  ) {
    super(message)
    this.name = 'FolderError'
  }
}

export async function scanFolder(root: string, fs: StorageFs = nodeFs): Promise<FolderScan> {
  let isFolder: boolean
  try {
    isFolder = (await fs.lstat(root)).isDirectory()
  } catch (err) {
    throw toStorageError(err, 'share the folder', root)
  }
  if (!isFolder) throw new FolderError('NOT_A_FOLDER', `${root} is not a folder: choose a folder to share.`)
  return scanPaths(root, [''], await loadRules(root, fs), fs)
}

/** The folder's ignore rules, as they are on disk now. */
export async function loadRules(root: string, fs: StorageFs = nodeFs): Promise<FolderRules> {
  return new FolderRules(await readGitignore(fs, root))
}

/** Entries of one folder read at once: each read waits on the disk, and one at a time they add up. */
const READ_PARALLEL = 8

/** What `scanPaths` reads: everything, or the folders alone (a watch needs no file's text). */
export interface ScanOptions {
  readonly foldersOnly?: boolean
  /**
   * The hash of the bytes Meshpad last wrote or read at `path`, if any. A file that still has them is
   * hashed but not decoded: its text is decoded only if asked for. Every file Meshpad writes comes
   * back to the watcher, and the one asking is told by the hash that it is its own (a join's 2,000
   * files were each decoded again, 50 MB of strings made for nothing).
   */
  readonly written?: (path: string) => string | undefined
}

/** One entry, sorted: a folder to walk, a shared file, a file left out, an ignored entry, or gone. */
type Found =
  | { readonly folder: string }
  | { readonly file: SharedFile }
  | { readonly leftOut: LeftOutFile }
  | { readonly ignored: true }
  | null

/**
 * What is at each of `paths` now (a file, or a folder with everything under it; '' is the whole
 * folder), as `scanFolder` reports it; a path that is not there is left out of the result, and an
 * ignored one counted as ignored. The entries of a folder are read READ_PARALLEL at a time, and
 * listed in name order all the same.
 */
export async function scanPaths(
  root: string,
  paths: readonly string[],
  rules: FolderRules,
  fs: StorageFs = nodeFs,
  options: ScanOptions = {},
): Promise<FolderScan> {
  const scan: FolderScan = { folders: [], files: [], leftOut: [], ignored: 0 }
  const entry = (path: string): Promise<Found> =>
    scanEntry(fs, root, path, path.slice(path.lastIndexOf('/') + 1), rules, options)
  /** Adds what was found to the scan; returns the folder to walk, if it is one. */
  const take = (found: Found): string | undefined => {
    if (found === null) return undefined
    if ('folder' in found) {
      scan.folders.push(found.folder)
      return found.folder
    }
    if ('file' in found) scan.files.push(found.file)
    else if ('leftOut' in found) scan.leftOut.push(found.leftOut)
    else scan.ignored++
    return undefined
  }
  let entries = 0
  const walk = async (dir: string): Promise<void> => {
    let names: string[]
    try {
      names = (await fs.readdir(join(root, dir))).sort()
    } catch (err) {
      if (dir === '') throw toStorageError(err, 'share the folder', root)
      if (errnoCode(err) !== 'ENOENT')
        scan.leftOut.push({ path: dir, why: 'unreadable', detail: reason(err) })
      return
    }
    entries += names.length
    if (entries > MAX_FOLDER_ENTRIES) {
      throw new FolderError(
        'TOO_MANY_ENTRIES',
        `${root} holds more than ${MAX_FOLDER_ENTRIES.toLocaleString('en')} files and folders: share a ` +
          'smaller folder, or leave the rest out with .gitignore rules.',
      )
    }
    // A folder's own .gitignore applies to what is in it (as in git, only in folders not left out).
    if (dir !== '' && names.includes('.gitignore'))
      rules.setNested(dir, await readGitignore(fs, join(root, dir)))
    const found = new Array<Found>(names.length).fill(null)
    await inParallel(names.keys(), READ_PARALLEL, async (i) => {
      found[i] = await entry(dir === '' ? names[i]! : `${dir}/${names[i]!}`)
    })
    const subfolders = found.map(take).filter((sub) => sub !== undefined)
    for (const sub of subfolders) await walk(sub)
  }
  for (const path of paths) {
    if (path === '') await walk('')
    else {
      const sub = take(await entry(path))
      if (sub !== undefined) await walk(sub)
    }
  }
  return scan
}

/** Sorts one entry: reads it if it is a shared file (unless `foldersOnly`). */
async function scanEntry(
  fs: StorageFs,
  root: string,
  path: string,
  name: string,
  rules: FolderRules,
  options: ScanOptions,
): Promise<Found> {
  let stat
  try {
    stat = await fs.lstat(join(root, path))
  } catch (err) {
    // Gone since it was listed (another program at work): it will be seen, or not, by the next scan.
    return errnoCode(err) === 'ENOENT' ? null : { leftOut: { path, why: 'unreadable', detail: reason(err) } }
  }
  const isFolder = stat.isDirectory()
  if (rules.ignores(path, isFolder)) return { ignored: true }
  if (badName(name) !== undefined) return { leftOut: { path, why: 'bad-name' } }
  if (stat.isSymbolicLink()) return { leftOut: { path, why: 'symlink' } }
  if (isFolder) return { folder: path }
  if (!stat.isFile()) return { leftOut: { path, why: 'special' } }
  if (stat.size > MAX_SHARED_BYTES) return { leftOut: { path, why: 'too-large' } }
  return options.foldersOnly ? null : readShared(fs, root, path, options.written)
}

async function readShared(
  fs: StorageFs,
  root: string,
  path: string,
  written?: (path: string) => string | undefined,
): Promise<Found> {
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(join(root, path))
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? null : { leftOut: { path, why: 'unreadable', detail: reason(err) } }
  }
  // Checked again: the file may have grown between the lstat and the read.
  if (bytes.byteLength > MAX_SHARED_BYTES) return { leftOut: { path, why: 'too-large' } }
  const hash = hashBytes(bytes)
  // The bytes Meshpad wrote or read here before were text: decoding them cannot fail.
  if (written?.(path) === hash) return { file: undecoded(path, bytes, hash) }
  try {
    const { text, format } = decodeText(bytes, path)
    return { file: { path, text, format, hash, size: bytes.byteLength } }
  } catch (err) {
    if (!(err instanceof StorageError) || err.code !== 'NOT_TEXT') throw err
    return { leftOut: { path, why: 'binary' } }
  }
}

/** A shared file whose text and format are decoded from `bytes` when first asked for. */
function undecoded(path: string, bytes: Uint8Array, hash: string): SharedFile {
  let decoded: { readonly text: string; readonly format: TextFormat } | undefined
  const decode = (): { readonly text: string; readonly format: TextFormat } =>
    (decoded ??= decodeText(bytes, path))
  return {
    path,
    hash,
    size: bytes.byteLength,
    get text() {
      return decode().text
    },
    get format() {
      return decode().format
    },
  }
}

async function readGitignore(fs: StorageFs, root: string): Promise<string> {
  const path = join(root, '.gitignore')
  try {
    const stat = await fs.lstat(path)
    if (!stat.isFile() || stat.size > MAX_GITIGNORE_BYTES) return ''
    // Rules, not user text: a leading byte-order mark is dropped (as git does), or the first pattern
    // would not match; bytes that are not UTF-8 become U+FFFD and match nothing.
    return new TextDecoder('utf-8', { ignoreBOM: false }).decode(await fs.readFile(path))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return ''
    throw toStorageError(err, 'read the ignore rules', path)
  }
}

const reason = (err: unknown): string => errnoCode(err) ?? (err instanceof Error ? err.message : String(err))
