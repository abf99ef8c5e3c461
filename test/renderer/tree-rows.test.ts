/** The sidebar's rows from a project's tree (src/renderer/src/project/tree-rows.ts). */
import { expect, it } from 'vitest'
import type { ProjectEntry } from '../../src/shared/api'
import {
  foldersAbove,
  foldersHolding,
  treeRows,
  visitorsByFolder,
} from '../../src/renderer/src/project/tree-rows'

const entry = (path: string, kind: 'file' | 'folder' = 'file'): ProjectEntry => ({
  node: `n:${path}`,
  path,
  kind,
  docId: kind === 'file' ? `d:${path}` : null,
})

// As the API lists them: sorted by path, which puts "b.md" before "lib" and "a10" before "a2".
const ENTRIES = [
  entry('README.md'),
  entry('a10.md'),
  entry('a2.md'),
  entry('lib', 'folder'),
  entry('lib/util.ts'),
  entry('lib/deep', 'folder'),
  entry('lib/deep/x.ts'),
  entry('src', 'folder'),
  entry('src/main.ts'),
]

const shown = (expanded: string[]): string[] =>
  treeRows(ENTRIES, new Set(expanded)).map((r) => `${'  '.repeat(r.depth)}${r.name}${r.expanded ? '/' : ''}`)

it('shows folders first, then files, by name as people sort (a2 before a10); collapsed folders hide their contents', () => {
  expect(shown([])).toEqual(['lib', 'src', 'a2.md', 'a10.md', 'README.md'])
})

it('shows an expanded folder contents under it, one level deeper; a folder inside a collapsed one stays hidden', () => {
  expect(shown(['n:lib'])).toEqual(['lib/', '  deep', '  util.ts', 'src', 'a2.md', 'a10.md', 'README.md'])
  expect(shown(['n:lib/deep'])).toEqual(['lib', 'src', 'a2.md', 'a10.md', 'README.md'])
  expect(shown(['n:lib', 'n:lib/deep', 'n:src'])).toEqual([
    'lib/',
    '  deep/',
    '    x.ts',
    '  util.ts',
    'src/',
    '  main.ts',
    'a2.md',
    'a10.md',
    'README.md',
  ])
})

it("gives each row its folder's node, its path and its document", () => {
  const row = treeRows(ENTRIES, new Set(['n:lib'])).find((r) => r.name === 'util.ts')
  expect(row).toEqual({
    node: 'n:lib/util.ts',
    name: 'util.ts',
    path: 'lib/util.ts',
    kind: 'file',
    depth: 1,
    parent: 'n:lib',
    expanded: false,
    docId: 'd:lib/util.ts',
  })
})

it('leaves out an entry whose folder is not listed (a path over the listing bound)', () => {
  expect(treeRows([entry('gone/x.md'), entry('y.md')], new Set()).map((r) => r.path)).toEqual(['y.md'])
})

it('names the folders to open to show a path', () => {
  expect(foldersAbove(ENTRIES, 'lib/deep/x.ts')).toEqual(['n:lib/deep', 'n:lib'])
  expect(foldersAbove(ENTRIES, 'README.md')).toEqual([])
})

it('handles a tree 3,000 folders deep without recursion', () => {
  const deep: ProjectEntry[] = []
  let path = ''
  for (let i = 0; i < 3_000; i++) {
    path = path ? `${path}/d` : 'd'
    deep.push(entry(path, 'folder'))
  }
  const rows = treeRows(deep, new Set(deep.map((e) => e.node)))
  expect(rows).toHaveLength(3_000)
  expect(rows.at(-1)!.depth).toBe(2_999)
})

it('names the people in files under each folder, each once, for collapsed folders', () => {
  const bob = { device: 'b', name: 'bob', color: '#123456' }
  const cy = { device: 'c', name: 'cy', color: '#654321' }
  const inFolders = visitorsByFolder(ENTRIES, {
    'n:lib/deep/x.ts': [bob],
    'n:lib/util.ts': [bob, cy],
    'n:README.md': [cy],
  })
  expect(inFolders.get('n:lib')).toEqual([bob, cy])
  expect(inFolders.get('n:lib/deep')).toEqual([bob])
  expect(inFolders.has('n:src')).toBe(false)
  expect(visitorsByFolder(ENTRIES, {}).size).toBe(0)
})

it('finds every folder above the files changed while away, and none for a file at the top or one gone', () => {
  const folders = (nodes: string[]): string[] => [...foldersHolding(ENTRIES, new Set(nodes))].sort()
  expect(folders(['n:lib/deep/x.ts'])).toEqual(['n:lib', 'n:lib/deep'])
  expect(folders(['n:lib/util.ts', 'n:src/main.ts'])).toEqual(['n:lib', 'n:src'])
  expect(folders(['n:README.md', 'n:deleted.md'])).toEqual([])
  expect(folders([])).toEqual([])
})
