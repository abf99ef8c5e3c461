/**
 * Nested `.gitignore` files, checked against git itself: for random folders with random rules at
 * several depths, scanFolder shares exactly the files that `git ls-files --others --exclude-standard`
 * lists as not ignored (in a fresh repository, every file is "other").
 *
 * Seeds: MESHPAD_SEEDS (default 40) from 1, or one seed with MESHPAD_SEED.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FolderRules } from '../../../src/main/folder/folder-rules'
import { scanFolder } from '../../../src/main/folder/scan-folder'
import { seededRandom } from '../../../src/shared/random'

const one = process.env.MESHPAD_SEED ? Number(process.env.MESHPAD_SEED) : undefined
const SEEDS = one !== undefined ? 1 : Number(process.env.MESHPAD_SEEDS ?? 40)
const FIRST = one ?? 1

const FOLDERS = ['', 'a', 'b', 'a/c', 'a/c/d', 'b/e']
const FILES = ['x.txt', 'y.log', 'z.md', 'keep.log']
/** Rules that interact across depths: globs, negations, anchored paths, folder patterns, `**`. */
const RULES = [
  '*.log',
  '!keep.log',
  '!y.log',
  'c/',
  '/x.txt',
  'x.txt',
  '*.md',
  '!z.md',
  'd',
  '**/z.md',
  'c/*.txt',
  'e/',
  '!e/',
  '/a',
  'b/**',
  '!b/e/x.txt',
  'a/**/y.log',
  '*/x.txt',
  '!/x.txt',
  '**/d/',
  'c/**',
  '!c/keep.log',
  '!*.txt',
]

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  })

describe('nested .gitignore files', () => {
  it(`leave out what git leaves out (${SEEDS} seeded folders)`, async () => {
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      const random = seededRandom(seed)
      const root = mkdtempSync(join(tmpdir(), 'meshpad-nested-ignore-'))
      try {
        for (const folder of FOLDERS) {
          mkdirSync(join(root, folder), { recursive: true })
          for (const file of FILES)
            if (random() < 0.8) writeFileSync(join(root, folder, file), `${folder}/${file}\n`)
          if (random() < 0.6) {
            const rules = RULES.filter(() => random() < 0.2)
            writeFileSync(join(root, folder, '.gitignore'), rules.join('\n') + '\n')
          }
        }
        git(root, 'init', '-q')
        const expected = git(root, 'ls-files', '--others', '--exclude-standard')
          .split('\n')
          .filter(Boolean)
          .sort()
        const shared = (await scanFolder(root)).files.map((f) => f.path).sort()
        expect({ seed, shared }).toEqual({ seed, shared: expected })
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }
  }, 60_000)

  it('lets a deeper .gitignore take back what a higher one left out, but not under a folder left out', () => {
    const rules = new FolderRules('*.log\nbuild/\n')
    rules.setNested('src', '!keep.log\n')
    rules.setNested('build', '!*\n')
    expect(rules.ignores('src/keep.log', false)).toBe(false)
    expect(rules.ignores('src/other.log', false)).toBe(true)
    expect(rules.ignores('keep.log', false)).toBe(true)
    expect(rules.ignores('build/out.txt', false)).toBe(true)
    // Removed again: the higher rules hold.
    rules.setNested('src', '')
    expect(rules.ignores('src/keep.log', false)).toBe(true)
  })
})
