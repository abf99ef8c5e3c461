/**
 * File documents of a project (issue 15): a shared folder's text files, each a Meshpad document
 * named by its node in the project's tree. A file document holds its own text, properties (author
 * records), seals and history, but no members, keys or tree: those are the project's (DocSession's
 * `project`), so one invite, one join and one member list cover every file, and a connection
 * authenticated for the project is authenticated for its files (PeerSession.roleOf).
 *
 * The ID is derived, not chosen: every member computes the same one from the project's ID and the
 * node's, so a file needs no message of its own to be known, and no peer can point a node at a
 * document of another project (the project's ID is in the hash).
 */
import { concatBytes, fromHex, toHex, utf8 } from '../../shared/sync/hex'
import type { FileTree } from '../../shared/tree/file-tree'
import { MAX_LISTED_PATH } from '../../shared/tree/tree-ops'
import { memberCrypto } from './crypto'

const FILE_DOC_LABEL = utf8('meshpad/file-doc/v1')

/**
 * File documents one project opens. Each open file document costs memory and a sync request per
 * peer and anti-entropy round: a peer's tree ops cannot make this node open more than this many.
 * Ten times the 2,000-file project of issue 15's benchmark.
 */
export const MAX_FILES_PER_PROJECT = 20_000

/**
 * File documents opened (or merged from disk) at once. Each open mostly waits for the disk: its store
 * made, its log read or its first records written and fsynced. At 8, a share or a join of 2,000 files
 * left the CPU idle while all 8 waited; at 32 (alternated with 8 on the folder bench's tree, 3 pairs)
 * share + join took 12.2-13.2 s against 13.0-15.9 s, with less CPU in all (17.1-18.5 s against 18.6-22.3).
 */
export const FILE_OPEN_PARALLEL = 32

/**
 * IDs computed already, by project and node: a write to the folder or a sync round asks for every
 * file's (a hash each: 1.5 of 35 s to share 2,000 files). Emptied when it reaches its bound.
 */
const knownIds = new Map<string, string>()
const MAX_KNOWN_IDS = 4 * MAX_FILES_PER_PROJECT

/** The document ID of the file at tree node `node` of project `projectId`. */
export function fileDocId(projectId: string, node: string): string {
  const key = `${projectId}/${node}`
  const known = knownIds.get(key)
  if (known !== undefined) return known
  const bytes = concatBytes(FILE_DOC_LABEL, fromHex(projectId), utf8(node))
  const id = toHex(memberCrypto.sha256(bytes).subarray(0, 16))
  if (knownIds.size >= MAX_KNOWN_IDS) knownIds.clear()
  knownIds.set(key, id)
  return id
}

/** The file nodes of a tree, the trash's left out. */
export function fileNodes(tree: FileTree): string[] {
  return tree
    .list(MAX_LISTED_PATH)
    .filter((e) => e.kind === 'file')
    .map((e) => e.id)
}
