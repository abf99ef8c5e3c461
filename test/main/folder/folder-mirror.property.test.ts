/**
 * FolderMirror under random changes made by "other programs" on a real disk: files written, edited,
 * moved and removed, folders made, moved and removed, many at a time. Each round, what changed is read
 * back (a full rescan's delta) into tree ops, which a second member's tree applies and writes to its
 * own folder: the two folders must then hold the same paths and bytes.
 *
 * Seeds: MESHPAD_SEEDS (default 40) from 1, or one seed with MESHPAD_SEED.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FolderMirror } from '../../../src/main/folder/folder-mirror'
import type { FolderDelta } from '../../../src/main/folder/folder-watcher'
import { scanFolder } from '../../../src/main/folder/scan-folder'
import { seededRandom, type Random } from '../../../src/shared/random'
import { FileTree } from '../../../src/shared/tree/file-tree'

const one = process.env.MESHPAD_SEED
const SEEDS = one !== undefined ? 1 : Number(process.env.MESHPAD_SEEDS ?? 40)
const FIRST = one !== undefined ? Number(one) : 1
const ROUNDS = 8
const NAMES = ['a', 'b', 'src', 'x.ts', 'y.md']

/** Every path under `root`, '/' for a folder, else the file's text. */
function listing(root: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of readdirSync(root, { recursive: true }) as string[]) {
    const path = p.split('\\').join('/')
    out.set(path, statSync(join(root, p)).isDirectory() ? '/' : readFileSync(join(root, p), 'utf8'))
  }
  return new Map([...out].sort())
}

/** One change another program could make, at random. */
function mutate(root: string, random: Random, n: number): void {
  const all = [...listing(root)]
  const folders = ['', ...all.filter(([, v]) => v === '/').map(([p]) => p)]
  const files = all.filter(([, v]) => v !== '/').map(([p]) => p)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const fresh = (folder: string): string | undefined => {
    const taken = new Set(readdirSync(join(root, folder)))
    const name = pick(NAMES)
    return taken.has(name) ? undefined : folder === '' ? name : `${folder}/${name}`
  }
  const r = random()
  if (r < 0.3 || files.length === 0) {
    const path = fresh(pick(folders))
    if (path) writeFileSync(join(root, path), `file ${n}\n`)
  } else if (r < 0.45) {
    writeFileSync(join(root, pick(files)), `edited ${n}\n`)
  } else if (r < 0.55) {
    const path = fresh(pick(folders))
    if (path) mkdirSync(join(root, path))
  } else if (r < 0.8) {
    const from = pick([...files, ...folders.slice(1)])
    const into = pick(folders.filter((f) => f !== from && !f.startsWith(`${from}/`)))
    const to = fresh(into)
    if (to) renameSync(join(root, from), join(root, to))
  } else {
    rmSync(join(root, pick([...files, ...folders.slice(1)])), { recursive: true })
  }
}

describe('FolderMirror: random changes by other programs', () => {
  it(
    `keeps a second folder byte-identical, over ${SEEDS} seeds of ${ROUNDS} rounds`,
    async () => {
      for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
        const random = seededRandom(seed)
        const ana = mkdtempSync(join(tmpdir(), 'meshpad-mirror-prop-ana-'))
        const ben = mkdtempSync(join(tmpdir(), 'meshpad-mirror-prop-ben-'))
        try {
          const texts = new Map<string, string>() // both members' texts, handed over whole
          const fileTexts = {
            get: (id: string) => texts.get(id),
            set: (id: string, t: string) => void texts.set(id, t),
          }
          const anaTree = new FileTree('ana-replica')
          const benTree = new FileTree('ben-replica')
          const anaMirror = new FolderMirror(ana, anaTree, fileTexts)
          const benMirror = new FolderMirror(ben, benTree, fileTexts)
          for (let i = 0; i < 4; i++) mutate(ana, random, i)
          benTree.apply(await anaMirror.importFolder())
          expect(await benMirror.toDisk()).toEqual([])
          let before = new Set((await scanPaths(ana)).keys())
          for (let round = 0; round < ROUNDS; round++) {
            const changes = 1 + Math.floor(random() * 4)
            for (let i = 0; i < changes; i++) mutate(ana, random, round * 10 + i)
            const now = await scanFolder(ana)
            const there = new Set([...now.folders, ...now.files.map((f) => f.path)])
            const delta: FolderDelta = { gone: [...before].filter((p) => !there.has(p)), now, rescan: false }
            benTree.apply(anaMirror.fromDisk(delta))
            const where = `seed ${seed}, round ${round}`
            expect(await benMirror.toDisk(), where).toEqual([])
            expect(listing(ben), where).toEqual(listing(ana))
            before = there
          }
        } finally {
          rmSync(ana, { recursive: true, force: true })
          rmSync(ben, { recursive: true, force: true })
        }
      }
    },
    30_000 + SEEDS * 500,
  )
})

async function scanPaths(root: string): Promise<Map<string, true>> {
  const scan = await scanFolder(root)
  return new Map([...scan.folders, ...scan.files.map((f) => f.path)].map((p) => [p, true]))
}
