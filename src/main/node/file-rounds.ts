/**
 * What anti-entropy has to do for the files of projects (issue 15: an idle project of 2,000 files
 * costs nothing to speak of), kept from what changed instead of found by looking at every file:
 *
 * - `changed()`: the files whose ops changed since the round before, which each peer is asked about
 *   at once. Only the files told of by their DurableDoc (`onChange`) since then are looked at.
 * - `due()`: whether a comparing round tells a peer what this node holds of a project's files
 *   (`file-versions`). Not when nothing of the project changed here since the last digests sent to
 *   that peer and none of the peer's digests since then differed from this node's: the peer already
 *   holds this node's digests, and found nothing to ask. A difference keeps both sides sending every
 *   comparing round until they agree (one side asks, then its digests change, and the other's
 *   comparison of them ends it), as a change does once.
 */
import type { PeerSession } from '../../shared/sync/session'
import type { DocSession } from './doc-session'

interface PeerFiles {
  /** The project's `stamp` when this node last sent the peer its digests. */
  sent: number
  /** One of the peer's digests differed from this node's since then. */
  differs: boolean
}

export class FileRounds {
  /**
   * Files told of a change since the last `changed()` (a DurableDoc tells only of ops it wrote: not of
   * a duplicate, nor of a seal), and those opened meanwhile, whose first ops are not news.
   */
  private readonly touched = new Set<DocSession>()
  private readonly opened = new Set<DocSession>()
  /** Per project: how many changes of its files this node has seen (opens included). */
  private readonly stamps = new Map<string, number>()
  private readonly peers = new WeakMap<PeerSession, Map<string, PeerFiles>>()

  /** A file document opened: its changes are followed from now on; the next round notes what it holds. */
  watch(doc: DocSession): void {
    const project = doc.project
    if (project === undefined) return
    const stamp = (): void => void this.stamps.set(project, (this.stamps.get(project) ?? 0) + 1)
    this.opened.add(doc)
    stamp()
    doc.durable.onChange(() => {
      this.touched.add(doc)
      stamp()
    })
  }

  /**
   * The files whose ops changed since the round before. Not at first sight: a file opened is asked
   * about as it opens (Workspace.loadFile, onDocReady).
   */
  changed(): DocSession[] {
    const out = [...this.touched].filter((doc) => !this.opened.has(doc))
    this.touched.clear()
    this.opened.clear()
    return out
  }

  /** Whether a comparing round sends `session` this node's digests of `projectId`'s files. */
  due(session: PeerSession, projectId: string): boolean {
    const last = this.peers.get(session)?.get(projectId)
    return last === undefined || last.differs || last.sent !== (this.stamps.get(projectId) ?? 0)
  }

  /** This node's digests of `projectId`'s files went to `session`. */
  sent(session: PeerSession, projectId: string): void {
    this.of(session).set(projectId, { sent: this.stamps.get(projectId) ?? 0, differs: false })
  }

  /** `session`'s digests of `projectId`'s files were compared with this node's: `differs` if any was not. */
  compared(session: PeerSession, projectId: string, differs: boolean): void {
    if (!differs) return
    const last = this.of(session).get(projectId)
    if (last) last.differs = true
  }

  private of(session: PeerSession): Map<string, PeerFiles> {
    let map = this.peers.get(session)
    if (!map) this.peers.set(session, (map = new Map()))
    return map
  }
}
