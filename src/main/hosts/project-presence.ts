/**
 * Who is in which file of a project (the tree's badges): a person is in a file while their editor has
 * it open, which their presence in the file's document says with a cursor (a window that leaves a
 * document sets its cursor to null). Recomputed when anyone's presence in one of the project's files
 * changes, and told only when the answer changed: most presence is a cursor moving within a file.
 */
import type { FileVisitor, PresenceInfo, ProjectPresence } from '../../shared/api'
import type { DocSession } from '../node/doc-session'
import { fileNodes } from '../node/project-files'
import type { Workspace } from '../node/workspace'
import { fileDocId } from '../node/project-files'

export interface ProjectPresenceOptions {
  readonly workspace: Workspace
  readonly project: DocSession
  readonly presenceOf: (session: DocSession) => PresenceInfo[]
  readonly changed: (files: ProjectPresence) => void
}

/** Presence changes come in bursts (a person typing): they are read at most this often. */
const SETTLE_MS = 30

export class ProjectPresenceWatch {
  private readonly stops: (() => void)[] = []
  private readonly watched = new Set<DocSession>()
  /** File document → tree node, made again after the tree changes. */
  private nodeOf: Map<string, string> | null = null
  private last = '{}'
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly options: ProjectPresenceOptions) {
    const { workspace, project } = options
    const onFile = (doc: DocSession): void => {
      if (doc.project === project.docId) this.watch(doc)
    }
    workspace.on('file', onFile)
    this.stops.push(() => workspace.off('file', onFile))
    for (const doc of workspace.filesOf(project.docId)) this.watch(doc)
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

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const stop of this.stops.splice(0)) stop()
  }

  private watch(doc: DocSession): void {
    if (this.watched.has(doc)) return
    this.watched.add(doc)
    const onAwareness = (): void => this.schedule()
    doc.on('awareness', onAwareness)
    this.stops.push(() => doc.off('awareness', onAwareness))
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null
      const files = this.now()
      const json = JSON.stringify(files)
      if (json === this.last) return
      this.last = json
      this.options.changed(files)
    }, SETTLE_MS)
  }
}
