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
  /** The text of each folder's `.gitignore`, by the folder's path ('' the root). */
  private readonly levels = new Map<string, string>()
  /** Every level's rules in one matcher, deeper folders' after (so they win), rebased to the root. */
  private user: Ignore = ignore()

  /** `gitignore`: the text of the folder's top-level `.gitignore` ('' if it has none). */
  constructor(gitignore = '') {
    this.setNested('', gitignore)
  }

  /**
   * The rules of the `.gitignore` in `folder` ('' the root), as git applies them: to the paths under
   * that folder, and over the rules of the folders above it. Empty text removes them.
   */
  setNested(folder: string, gitignore: string): void {
    if (gitignore.trim() === '') this.levels.delete(folder)
    else this.levels.set(folder, gitignore)
    const folders = [...this.levels.keys()].sort((a, b) => depth(a) - depth(b))
    this.user = ignore()
    for (const f of folders) this.user.add(rebase(this.levels.get(f)!, f))
  }

  /**
   * Whether `path` (relative to the folder's root, with `/` separators) is left out. A folder is
   * asked with `isFolder`, so that patterns that end in `/` match it. What is under a folder left out
   * is left out, whatever a deeper rule says (git's rule; the matcher applies it).
   */
  ignores(path: string, isFolder: boolean): boolean {
    const asked = isFolder ? `${path}/` : path
    return this.always.ignores(asked) || this.user.ignores(asked)
  }
}

const depth = (folder: string): number => (folder === '' ? 0 : folder.split('/').length)

/**
 * A nested `.gitignore`'s rules as rules of the root's (gitignore(5)): a pattern with a slash before
 * its end is relative to the file's folder, one without matches at any depth below that folder.
 */
function rebase(gitignore: string, folder: string): string[] {
  const lines = gitignore.split(/\r?\n/)
  if (folder === '') return lines
  const rebased: string[] = []
  for (const line of lines) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const negated = line.startsWith('!')
    const pattern = negated ? line.slice(1) : line
    const body = pattern.replace(/\/+\s*$/, '')
    const at = pattern.startsWith('/')
      ? `${folder}${pattern}`
      : body.includes('/')
        ? `${folder}/${pattern}`
        : `${folder}/**/${pattern}`
    rebased.push(negated ? `!${at}` : at)
  }
  return rebased
}
