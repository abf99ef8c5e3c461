import { FileTree } from '../../../src/shared/tree/file-tree'
import { decodeOps, encodeOps, ROOT, TRASH, type TreeOp } from '../../../src/shared/tree/tree-ops'

/** A replica whose wall clock the test sets: `at(t)` for the next ops. */
export function replica(id: string, start = 1000): { tree: FileTree; at: (t: number) => FileTree } {
  let now = start
  const tree = new FileTree(id, { clock: () => now })
  return {
    tree,
    at: (t: number) => {
      now = t
      return tree
    },
  }
}

/** Sends `ops` to `tree` over the wire form. */
export function send(tree: FileTree, ops: readonly TreeOp[]): void {
  tree.apply(decodeOps(encodeOps(ops)))
}

/** Full anti-entropy among `trees`: each gets what it lacks from every other. */
export function syncAll(...trees: FileTree[]): void {
  for (const to of trees) for (const from of trees) if (from !== to) send(to, from.opsSince(to.version()))
}

/** Throws unless every node's parent chain reaches the root or the trash. */
export function checkNoCycles(tree: FileTree, ids: Iterable<string>): void {
  for (const id of ids) {
    const seen = new Set<string>()
    let at = id
    while (at !== ROOT && at !== TRASH) {
      if (seen.has(at)) throw new Error(`cycle through ${at}`)
      seen.add(at)
      const p = tree.place(at)
      if (!p) throw new Error(`${at} (above ${id}) is not in the tree`)
      at = p.parent
    }
  }
}

export const paths = (tree: FileTree): string[] => tree.list().map((e) => e.path)
