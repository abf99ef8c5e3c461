/**
 * A project's tree as the sidebar shows it: one row per visible file or folder, in display order
 * (folders first, then files, each by name as people sort them), with its depth, and the contents of
 * collapsed folders left out. Pure, so that it is tested without a DOM.
 */
import type { FileVisitor, ProjectEntry, ProjectPresence } from '../../../shared/api'

export interface TreeRow {
  readonly node: string
  readonly name: string
  readonly path: string
  readonly kind: 'file' | 'folder'
  /** 0 for the project's top level. */
  readonly depth: number
  /** The folder it is in (its node), or null at the top. */
  readonly parent: string | null
  /** For a folder: whether it shows its contents. */
  readonly expanded: boolean
  readonly docId: string | null
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

const byKindThenName = (a: ProjectEntry, b: ProjectEntry): number =>
  a.kind !== b.kind ? (a.kind === 'folder' ? -1 : 1) : collator.compare(nameOf(a.path), nameOf(b.path))

export const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1)

export const parentPathOf = (path: string): string => {
  const slash = path.lastIndexOf('/')
  return slash < 0 ? '' : path.slice(0, slash)
}

/** The rows to show, given which folders (by node) are expanded. */
export function treeRows(entries: readonly ProjectEntry[], expanded: ReadonlySet<string>): TreeRow[] {
  const byPath = new Map(entries.map((e) => [e.path, e]))
  const children = new Map<string, ProjectEntry[]>()
  for (const e of entries) {
    const parent = parentPathOf(e.path)
    // An entry whose folder is not listed (its path is over the listing's bound) cannot be placed.
    if (parent !== '' && byPath.get(parent)?.kind !== 'folder') continue
    const list = children.get(parent)
    if (list) list.push(e)
    else children.set(parent, [e])
  }
  for (const list of children.values()) list.sort(byKindThenName)
  const rows: TreeRow[] = []
  // A stack, not recursion: a tree can be deep.
  const todo: { entry: ProjectEntry; depth: number; parent: string | null }[] = (children.get('') ?? [])
    .map((entry) => ({ entry, depth: 0, parent: null }))
    .reverse()
  while (todo.length > 0) {
    const { entry, depth, parent } = todo.pop()!
    const open = entry.kind === 'folder' && expanded.has(entry.node)
    rows.push({
      node: entry.node,
      name: nameOf(entry.path),
      path: entry.path,
      kind: entry.kind,
      depth,
      parent,
      expanded: open,
      docId: entry.docId,
    })
    if (!open) continue
    const inside = children.get(entry.path) ?? []
    for (let i = inside.length - 1; i >= 0; i--)
      todo.push({ entry: inside[i]!, depth: depth + 1, parent: entry.node })
  }
  return rows
}

/** The folders (by node) to expand so that `path` is shown. */
export function foldersAbove(entries: readonly ProjectEntry[], path: string): string[] {
  const byPath = new Map(entries.map((e) => [e.path, e.node]))
  const out: string[] = []
  for (let p = parentPathOf(path); p !== ''; p = parentPathOf(p)) {
    const node = byPath.get(p)
    if (node !== undefined) out.push(node)
  }
  return out
}

/**
 * The people in files under each folder (by node), each once: a collapsed folder shows them, so that
 * who is where stays visible however far the tree is folded.
 */
export function visitorsByFolder(
  entries: readonly ProjectEntry[],
  presence: ProjectPresence,
): Map<string, FileVisitor[]> {
  const out = new Map<string, FileVisitor[]>()
  const nodes = Object.keys(presence)
  if (nodes.length === 0) return out
  const above = folderLookup(entries)
  for (const node of nodes) {
    for (const folder of above(node)) {
      const list = out.get(folder) ?? []
      for (const v of presence[node] ?? []) if (!list.some((w) => w.device === v.device)) list.push(v)
      out.set(folder, list)
    }
  }
  return out
}

/** The folders that hold one of `files` somewhere inside them (a collapsed one shows that). */
export function foldersHolding(entries: readonly ProjectEntry[], files: ReadonlySet<string>): Set<string> {
  const out = new Set<string>()
  if (files.size === 0) return out
  const above = folderLookup(entries)
  for (const node of files) for (const folder of above(node)) out.add(folder)
  return out
}

/** For a node, the folders above it, innermost first (none for an unknown node). */
function folderLookup(entries: readonly ProjectEntry[]): (node: string) => string[] {
  const folderAt = new Map<string, string>()
  const pathOf = new Map<string, string>()
  for (const e of entries) {
    if (e.kind === 'folder') folderAt.set(e.path, e.node)
    pathOf.set(e.node, e.path)
  }
  return (node) => {
    const path = pathOf.get(node)
    const out: string[] = []
    if (path === undefined) return out
    for (let p = parentPathOf(path); p !== ''; p = parentPathOf(p)) {
      const folder = folderAt.get(p)
      if (folder !== undefined) out.push(folder)
    }
    return out
  }
}
