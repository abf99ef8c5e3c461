/**
 * Who is in which file of a project (the tree's badges): a person is in a file while their editor has
 * it open, which their presence in the file's document says with a cursor (a window that leaves a
 * document sets its cursor to null). Recomputed when anyone's presence in one of the project's files
 * changes, and told only when the answer changed: most presence is a cursor moving within a file.
 */
import type { FileVisitor, PresenceInfo, ProjectPresence } from '../../shared/api'
import type { DocSession } from '../node/doc-session'
import { fileDocId, fileNodes } from '../node/project-files'
import type { Workspace } from '../node/workspace'
import { ProjectFileWatch } from './project-file-watch'

export interface ProjectPresenceOptions {
  readonly workspace: Workspace
  readonly project: DocSession
  readonly presenceOf: (session: DocSession) => PresenceInfo[]
  readonly changed: (files: ProjectPresence) => void
}

/** Presence changes come in bursts (a person typing): they are read at most this often. */
const SETTLE_MS = 30

export class ProjectPresenceWatch extends ProjectFileWatch<ProjectPresence> {
  /** File document → tree node, made again after the tree changes. */
  private nodeOf: Map<string, string> | null = null

  constructor(private readonly options: ProjectPresenceOptions) {
    super(options.workspace, options.project, SETTLE_MS, {}, options.changed)
  }

  /** Files may have moved in or out of the tree: badges are looked up again. */
  treeChanged(): void {
    this.nodeOf = null
    this.schedule()
  }

  now(): ProjectPresence {
    const { workspace, project, presenceOf } = this.options
    const nodeOf = (this.nodeOf ??= new Map(
      fileNodes(project.durable.tree).map((node) => [fileDocId(project.docId, node), node]),
    ))
    const out: Record<string, FileVisitor[]> = {}
    for (const doc of workspace.filesOf(project.docId)) {
      const node = nodeOf.get(doc.docId)
      if (node === undefined) continue // deleted
      const people = presenceOf(doc)
        .filter((p) => p.cursor !== null)
        .map((p) => ({ device: p.device, name: p.name, color: p.color }))
      if (people.length > 0) out[node] = people.sort((a, b) => (a.device < b.device ? -1 : 1))
    }
    return out
  }

  protected watch(doc: DocSession): () => void {
    const onAwareness = (): void => this.schedule()
    doc.on('awareness', onAwareness)
    return () => doc.off('awareness', onAwareness)
  }
}
