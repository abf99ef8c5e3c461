/**
 * The tree bench/folder.ts shares: real source files copied from the packages in node_modules, 2,000
 * of them and about 50 MB (issue 15), chosen the same way every run: the text files of 4 KB to 1 MB,
 * largest first, and of those the 2,000 in a row whose sizes add up closest to 50 MB. Paths keep
 * their package folders, `node_modules/` renamed `nm/` (a shared folder leaves `node_modules/` out).
 */
import { copyFile, lstat, mkdir, readdir } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { scanFolder } from '../src/main/folder/scan-folder'

export const CORPUS_FILES = 2_000
export const CORPUS_BYTES = 50 * 1024 * 1024
const EXTENSIONS = /\.(js|ts|mjs|cjs|md|json|tsx|jsx|css)$/
const MIN_BYTES = 4 * 1024
const MAX_BYTES = 1024 * 1024

interface Candidate {
  readonly path: string
  readonly size: number
}

async function candidates(root: string): Promise<Candidate[]> {
  const out: Candidate[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name)
      if (e.isDirectory()) await walk(abs)
      else if (e.isFile() && EXTENSIONS.test(e.name) && !e.name.startsWith('.')) {
        const { size } = await lstat(abs)
        if (size >= MIN_BYTES && size <= MAX_BYTES) out.push({ path: relative(root, abs), size })
      }
    }
  }
  await walk(root)
  return out.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1))
}

/** Builds the tree in `dest` from `nodeModules`; returns its file count and bytes, as a scan sees them. */
export async function buildCorpus(
  nodeModules: string,
  dest: string,
): Promise<{ files: number; bytes: number }> {
  const all = await candidates(nodeModules)
  if (all.length < CORPUS_FILES) throw new Error(`bench: only ${all.length} source files in ${nodeModules}`)
  // The window of CORPUS_FILES sizes (largest first) whose sum is closest to CORPUS_BYTES.
  let sum = all.slice(0, CORPUS_FILES).reduce((s, c) => s + c.size, 0)
  let best = { start: 0, off: Math.abs(sum - CORPUS_BYTES) }
  for (let start = 1; start + CORPUS_FILES <= all.length; start++) {
    sum += all[start + CORPUS_FILES - 1]!.size - all[start - 1]!.size
    const off = Math.abs(sum - CORPUS_BYTES)
    if (off < best.off) best = { start, off }
  }
  for (const c of all.slice(best.start, best.start + CORPUS_FILES)) {
    const to = join(
      dest,
      c.path
        .split(sep)
        .map((p) => (p === 'node_modules' ? 'nm' : p))
        .join(sep),
    )
    await mkdir(dirname(to), { recursive: true })
    await copyFile(join(nodeModules, c.path), to)
  }
  const scan = await scanFolder(dest)
  return { files: scan.files.length, bytes: scan.files.reduce((s, f) => s + f.size, 0) }
}
