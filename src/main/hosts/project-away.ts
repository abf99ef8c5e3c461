/**
 * Which files of a project changed while this device was away (issue 15: "which files changed while
 * I was away"): a file whose document caught up on others' edits after time apart (its session's
 * 'batch' event says `away`), unless a window here had it open then (its editor highlights what
 * changed itself). A file stays marked until a window here opens it. The marks last for this run
 * of the app: after a restart, catching up with peers marks the files that changed meanwhile again.
 */
import type { VersionVector } from '../../shared/crdt'
import { decodeTextOps } from '../../shared/crdt/text-codec'
import type { DocSession } from '../node/doc-session'
import { fileDocId, fileNodes } from '../node/project-files'
import type { Workspace } from '../node/workspace'
import { ProjectFileWatch } from './project-file-watch'

export interface ProjectAwayOptions {
  readonly workspace: Workspace
  readonly project: DocSession
  /** Whether a window of this device has the document open. */
  readonly viewing: (docId: string) => boolean
  /** The marked files changed (tree nodes, in tree order). */
  readonly changed: (files: string[]) => void
}

/** A catch-up comes as a burst of batches over many files: the windows are told once it settles. */
const SETTLE_MS = 50

export class ProjectAwayWatch extends ProjectFileWatch<string[]> {
  /** File documents marked, each with its text's version before the catch-up (what was seen). */
  private readonly marked = new Map<string, VersionVector>()

  constructor(private readonly options: ProjectAwayOptions) {
    super(options.workspace, options.project, SETTLE_MS, [], options.changed)
  }

  /** The marked files' tree nodes, in tree order (deleted files left out). */
  now(): string[] {
    if (this.marked.size === 0) return []
    const { project } = this
    return fileNodes(project.durable.tree).filter((node) => this.marked.has(fileDocId(project.docId, node)))
  }

  /**
   * A window here opened the file's document: what changed in it is seen there. Returns the version
   * the catch-up started from, if the file was marked: the editor highlights what came after it.
   */
  seen(docId: string): VersionVector | undefined {
    const since = this.marked.get(docId)
    if (since && this.marked.delete(docId)) this.schedule()
    return since
  }

  /** Files may have been deleted (or come back). */
  treeChanged(): void {
    if (this.marked.size > 0) this.schedule()
  }

  protected watch(doc: DocSession): () => void {
    // Read when a batch comes, not now: this runs while the watch is being made.
    const onBatch = (batch: Uint8Array, _origin: unknown, away: boolean): void => {
      if (!away || this.marked.has(doc.docId) || this.options.viewing(doc.docId)) return
      this.marked.set(doc.docId, versionBefore(doc.durable.text.version(), batch))
      this.schedule()
    }
    doc.on('batch', onBatch)
    return () => doc.off('batch', onBatch)
  }
}

/**
 * The version a text was at before `batch` (just applied) came: its ops' replicas back to just below
 * their first counter in it. Ops that came later in the same catch-up count after it, too.
 */
function versionBefore(now: VersionVector, batch: Uint8Array): VersionVector {
  const before = { ...now }
  const { replicas, ops } = decodeTextOps(batch)
  for (const op of ops) {
    const replica = replicas[op.agent]!
    before[replica] = Math.min(before[replica] ?? 0, op.counter - 1)
  }
  return before
}
