/**
 * What the project's per-file watches share (who is in which file: project-presence.ts; which files
 * changed while away: project-away.ts): following every file document of a project, open now or
 * opened later, and telling the windows a value only once a burst of changes settles, and only when
 * it differs from the last one told.
 */
import type { DocSession } from '../node/doc-session'
import type { Workspace } from '../node/workspace'

export abstract class ProjectFileWatch<T> {
  private readonly stops: (() => void)[] = []
  private last: string
  private timer: NodeJS.Timeout | null = null

  /** `initial`: the value the windows start from (told again only once it changes). */
  constructor(
    protected readonly workspace: Workspace,
    protected readonly project: DocSession,
    private readonly settleMs: number,
    initial: T,
    private readonly changed: (value: T) => void,
  ) {
    this.last = JSON.stringify(initial)
    // A file closed while idle is followed again once it is opened again.
    this.stops.push(workspace.followFiles(project.docId, (doc) => this.watch(doc)))
  }

  /** The value now. */
  abstract now(): T

  /** Starts following a file document; returns what stops it. */
  protected abstract watch(doc: DocSession): () => void

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const stop of this.stops.splice(0)) stop()
  }

  /** The value may have changed: it is read once things settle, and told if it did. */
  protected schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null
      const value = this.now()
      const json = JSON.stringify(value)
      if (json === this.last) return
      this.last = json
      this.changed(value)
    }, this.settleMs)
  }
}
