/**
 * Presence between this window and the node: publishes this window's cursor as CRDT anchors
 * (throttled, and only when it moved), and turns the others' anchors into positions in this window's
 * replica for the remote-cursor decorations; "follow" scrolls to the followed person's cursor.
 */
import { EditorView } from '@codemirror/view'
import type { CursorAnchors, MeshpadBridge, PresenceInfo } from '../../../shared/api'
import type { EditorHandle } from '../Editor'
import { setRemoteCursors, type RemoteCursor } from './presence'

const PUBLISH_EVERY_MS = 80

const sameRef = (a: CursorAnchors['anchor'], b: CursorAnchors['anchor']): boolean =>
  a === b || (a !== null && b !== null && a.replica === b.replica && a.counter === b.counter)

export class PresenceSync {
  private timer: ReturnType<typeof setTimeout> | null = null
  private last: CursorAnchors | null = null
  private people: readonly PresenceInfo[] = []
  following: string | null = null

  constructor(
    private readonly api: MeshpadBridge,
    private readonly docId: string,
    private readonly editor: EditorHandle,
  ) {}

  /** The selection moved or the text changed: publish soon (once per burst). */
  cursorMoved(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null
      this.publish()
    }, PUBLISH_EVERY_MS)
  }

  private publish(): void {
    const { view, replica } = this.editor
    const sel = view.state.selection.main
    // The replica and the view hold the same text, so view positions are replica positions.
    const cursor: CursorAnchors = {
      anchor: replica.cursorAnchor(sel.anchor),
      head: replica.cursorAnchor(sel.head),
    }
    if (this.last && sameRef(this.last.anchor, cursor.anchor) && sameRef(this.last.head, cursor.head)) return
    this.last = cursor
    void this.api.setPresence(this.docId, cursor)
  }

  /** The others' presence from the node: show their cursors where their anchors are now. */
  show(people: readonly PresenceInfo[]): void {
    this.people = people
    const { view, replica } = this.editor
    const cursors: RemoteCursor[] = []
    for (const p of people) {
      if (!p.cursor) continue
      const anchor = replica.cursorIndex(p.cursor.anchor)
      const head = replica.cursorIndex(p.cursor.head)
      // An anchor not known here yet (its op is still on the way) is shown at the next update.
      if (anchor === undefined || head === undefined) continue
      cursors.push({ device: p.device, name: p.name, color: p.color, anchor, head })
    }
    const effects = [setRemoteCursors.of(cursors)]
    const followed = this.following ? cursors.find((c) => c.device === this.following) : undefined
    view.dispatch({
      effects: followed ? [...effects, EditorView.scrollIntoView(followed.head, { y: 'center' })] : effects,
    })
  }

  follow(device: string | null): void {
    this.following = device
    this.show(this.people)
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    void this.api.setPresence(this.docId, null)
  }
}
