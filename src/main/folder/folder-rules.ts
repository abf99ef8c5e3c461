/**
 * Which files of a shared folder are shared: not those its ignore rules name (`.gitignore` syntax, via
 * the `ignore` package, which implements git's own matching rules, negations and directory patterns
 * included), never `.git/`, `node_modules/` or Meshpad's own temp files, and only text files up to
 * MAX_SHARED_BYTES. Binary and larger files are listed as left out, never synced: a Meshpad document
 * is text, and a last-writer-wins blob of a build artefact would fight every member's build.
 */
import ignore, { type Ignore } from 'ignore'

/** Always left out, whatever `.gitignore` says (a negation cannot bring them back). */
export const ALWAYS_IGNORED = ['.git/', 'node_modules/', '*.meshpad-tmp'] as const

/** A larger file is left out: 4 MiB holds any source file people edit together. */
export const MAX_SHARED_BYTES = 4 * 1024 * 1024

export class FolderRules {
  private readonly always: Ignore = ignore().add([...ALWAYS_IGNORED])
  private readonly user: Ignore

  /** `gitignore`: the text of the folder's top-level `.gitignore` ('' if it has none). */
  constructor(gitignore = '') {
    this.user = ignore().add(gitignore)
  }

  /**
   * Whether `path` (relative to the folder's root, with `/` separators) is left out. A folder is
   * asked with `isFolder`, so that patterns that end in `/` match it.
   */
  ignores(path: string, isFolder: boolean): boolean {
    const asked = isFolder ? `${path}/` : path
    return this.always.ignores(asked) || this.user.ignores(asked)
  }
}
