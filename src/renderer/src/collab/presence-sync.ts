/**
 * Presence between this window and the node: publishes this window's cursor as CRDT anchors
 * (throttled, and only when it moved), and turns the others' anchors into positions in this window's
 * replica for the remote-cursor decorations; "follow" scrolls to the followed person's cursor.
 *
 * Presence and text travel apart (presence is relayed at once, text once it is on each relay's disk),
 * so a cursor may point at a character this replica does not hold yet. Such a cursor stays where it
 * was (or is not shown yet) and is resolved again when the text changes, not at the next presence.
 */
import { EditorView } from '@codemirror/view'
import type { CursorAnchors, MeshpadBridge, PresenceInfo } from '../../../shared/api'
import { drawTyped } from '../binding/sync'
import type { EditorHandle } from '../Editor'
import { remoteCursorsOf, setRemoteCursors, type RemoteCursor } from './presence'

const PUBLISH_EVERY_MS = 80

const sameRef = (a: CursorAnchors['anchor'], b: CursorAnchors['anchor']): boolean =>
  a === b || (a !== null && b !== null && a.replica === b.replica && a.counter === b.counter)

export class PresenceSync {
  private timer: ReturnType<typeof setTimeout> | null = null
  private last: CursorAnchors | null = null
  private people: readonly PresenceInfo[] = []
  /** People whose latest anchors this replica does not hold yet. */
  private readonly unresolved = new Set<string>()
  private retry = false
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
    drawTyped() // the view's positions are the replica's only once it shows every keystroke
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
    drawTyped()
    const { view, replica } = this.editor
    const shown = remoteCursorsOf(view)
    const cursors: RemoteCursor[] = []
    this.unresolved.clear()
    for (const p of people) {
      if (!p.cursor) continue
      const anchor = replica.cursorIndex(p.cursor.anchor)
      const head = replica.cursorIndex(p.cursor.head)
      if (anchor === undefined || head === undefined) {
        // Its text is on the way: the cursor stays where it was shown until the text arrives.
        this.unresolved.add(p.device)
        const before = shown.find((c) => c.device === p.device)
        if (before) cursors.push({ ...before, name: p.name, color: p.color })
        continue
      }
      cursors.push({ device: p.device, name: p.name, color: p.color, anchor, head })
    }
    const effects = [setRemoteCursors.of(cursors)]
    const followed = this.following ? cursors.find((c) => c.device === this.following) : undefined
    view.dispatch({
      effects: followed ? [...effects, EditorView.scrollIntoView(followed.head, { y: 'center' })] : effects,
    })
  }

  /**
   * The window's text changed: cursors waiting for their text may resolve now. Called from an editor
   * update, so the new positions are dispatched just after it.
   */
  textChanged(): void {
    if (this.unresolved.size === 0 || this.retry) return
    this.retry = true
    queueMicrotask(() => {
      this.retry = false
      if (this.unresolved.size > 0) this.show(this.people)
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
