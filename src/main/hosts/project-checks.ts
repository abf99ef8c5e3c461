/**
 * Checks of the project requests' arguments: the renderer is untrusted, and a tree op made from a bad
 * argument would be signed and sent to every member. Each failure says what to do instead.
 */
import { badName, ROOT, TRASH, type NodeKind } from '../../shared/tree/tree-ops'
import type { FileTree } from '../../shared/tree/file-tree'

/** An expected failure of a project request, with the API's code (toApiError passes it on). */
export class ProjectError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'BAD_REQUEST' | 'FILE_EXISTS' | 'NOT_SUPPORTED' | 'INTERNAL',
    message: string,
  ) {
    super(message)
    this.name = 'ProjectError'
  }
}

/** At most the tree's own bound on node IDs (tree-ops.ts MAX_NODE_ID_BYTES), in characters. */
const MAX_NODE_LENGTH = 300

/** A node of the tree that is live (not deleted), by its ID. */
export function requireLiveNode(tree: FileTree, node: unknown): string {
  if (typeof node !== 'string' || node.length === 0 || node.length > MAX_NODE_LENGTH)
    throw new ProjectError('BAD_REQUEST', 'Not a file or folder of the project.')
  if (tree.path(node) === undefined || node === ROOT)
    throw new ProjectError('NOT_FOUND', 'That file or folder is no longer in the project.')
  return node
}

/** A node of the tree that is deleted (in the trash itself, not inside a deleted folder), by its ID. */
export function requireDeletedNode(tree: FileTree, node: unknown): string {
  if (typeof node !== 'string' || node.length === 0 || node.length > MAX_NODE_LENGTH)
    throw new ProjectError('BAD_REQUEST', 'Not a file or folder of the project.')
  if (tree.place(node)?.parent !== TRASH)
    throw new ProjectError('NOT_FOUND', 'That file or folder is not deleted: nothing to restore.')
  return node
}

/**
 * `name`, or "name (restored)", "name (restored 2)", … before its extension: the first that no child
 * of `folder` has, for something put back where a new file took its name meanwhile.
 */
export function freeName(tree: FileTree, folder: string, name: string): string {
  const children = tree.children(folder)
  const dot = name.lastIndexOf('.')
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
  for (let n = 1; n <= 1000; n++) {
    const candidate = n === 1 ? name : `${stem} (restored${n === 2 ? '' : ` ${n - 1}`})${ext}`
    if (!isTaken(tree, children, candidate, undefined) && badName(candidate) === undefined) return candidate
  }
  throw new ProjectError(
    'FILE_EXISTS',
    `${name} and its restored names are all taken there: rename one first.`,
  )
}

/** A folder to put something in: a live folder's node, or null for the project's top. */
export function requireFolder(tree: FileTree, parent: unknown): string {
  if (parent === null) return ROOT
  const id = requireLiveNode(tree, parent)
  if (tree.place(id)?.kind !== 'folder')
    throw new ProjectError('BAD_REQUEST', 'That is a file, not a folder.')
  return id
}

export function checkEntryKind(kind: unknown): NodeKind {
  if (kind !== 'file' && kind !== 'folder')
    throw new ProjectError('BAD_REQUEST', 'A kind is "file" or "folder".')
  return kind
}

/**
 * A name for a child of `folder`: one the tree takes, and not another child's (`self` may keep its
 * own). The tree would keep both under one name and show one as "name (2)"; a person asking for a
 * name that is taken means something else, so they are asked for another.
 */
export function checkEntryName(
  tree: FileTree,
  folder: string,
  name: unknown,
  self: string | undefined,
): string {
  const why = badName(name)
  if (why !== undefined) throw new ProjectError('BAD_REQUEST', `Not a usable name: ${why}.`)
  const n = name as string
  if (isTaken(tree, tree.children(folder), n, self))
    throw new ProjectError('FILE_EXISTS', `${n} exists already there: choose another name.`)
  return n
}

/** Whether a child other than `self` has `name` (as this device compares names: FileTree.sameName). */
function isTaken(
  tree: FileTree,
  children: readonly { id: string; name: string }[],
  name: string,
  self: string | undefined,
): boolean {
  return children.some((c) => c.id !== self && tree.sameName(c.name, name))
}
