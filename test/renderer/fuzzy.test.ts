/** Quick open's matching and ranking (src/renderer/src/project/fuzzy.ts). */
import { expect, it } from 'vitest'
import { fuzzyMatch, rankPaths } from '../../src/renderer/src/project/fuzzy'

const PATHS = [
  'README.md',
  'docs/architecture.md',
  'src/main/hosts/app-service.ts',
  'src/main/hosts/web-host.ts',
  'src/renderer/src/App.tsx',
  'src/renderer/src/project/FileTree.tsx',
  'src/shared/tree/file-tree.ts',
  'test/renderer/fuzzy.test.ts',
]

const ranked = (q: string): string[] => rankPaths(q, PATHS).map((r) => r.path)

it('matches the characters in order, case ignored; the rest not', () => {
  expect(fuzzyMatch('apsv', 'src/main/hosts/app-service.ts')).not.toBeNull()
  expect(fuzzyMatch('APSV', 'src/main/hosts/app-service.ts')).not.toBeNull()
  expect(fuzzyMatch('vsp', 'src/main/hosts/app-service.ts')).toBeNull()
  expect(ranked('zzz')).toEqual([])
})

it('an empty query lists every path, shorter first', () => {
  expect(ranked('')).toHaveLength(PATHS.length)
  expect(ranked('')[0]).toBe('README.md')
})

it("ranks a match in the file's name above one spread over folders", () => {
  // "filetree" is in two names, and spread over "src/renderer/…" paths too.
  expect(ranked('filetree').slice(0, 2).sort()).toEqual([
    'src/renderer/src/project/FileTree.tsx',
    'src/shared/tree/file-tree.ts',
  ])
  expect(ranked('app')[0]).toBe('src/renderer/src/App.tsx')
  expect(ranked('websrv')).toEqual([]) // no r after web-host's s
  expect(ranked('webh')[0]).toBe('src/main/hosts/web-host.ts')
})

it('ranks word starts: "as" finds app-service by its words', () => {
  expect(ranked('appserv')[0]).toBe('src/main/hosts/app-service.ts')
  expect(ranked('arch')[0]).toBe('docs/architecture.md')
})

it('returns the matched positions, to highlight them, preferring the file name', () => {
  const path = 'src/renderer/src/project/FileTree.tsx'
  const m = fuzzyMatch('ft', path)!
  expect(m.positions.map((i) => path[i]).join('')).toBe('FT')
  expect(m.positions[0]).toBe(path.lastIndexOf('/') + 1)
})

it('keeps at most the limit', () => {
  expect(rankPaths('', PATHS, 3)).toHaveLength(3)
})
