/**
 * Other people's cursors and selections in the editor, each in its person's colour with their name.
 * Positions come from CRDT anchors (resolved by the caller with TextDoc.cursorIndex whenever presence
 * arrives) and are mapped through every change in between, so they stay on their characters while
 * anyone types.
 */
import { StateEffect, StateField, type Extension, type Range } from '@codemirror/state'
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view'

export interface RemoteCursor {
  readonly device: string
  readonly name: string
  readonly color: string
  readonly anchor: number
  readonly head: number
}

/** Replaces the remote cursors (positions in the current document). */
export const setRemoteCursors = StateEffect.define<readonly RemoteCursor[]>()

class CaretWidget extends WidgetType {
  constructor(
    private readonly name: string,
    private readonly color: string,
  ) {
    super()
  }

  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.color === this.color
  }

  toDOM(): HTMLElement {
    const caret = document.createElement('span')
    caret.className = 'cm-remote-caret'
    caret.style.borderLeftColor = this.color
    caret.setAttribute('aria-label', `${this.name}'s cursor`)
    // The name is drawn by CSS from an attribute, so it is never part of the text (copy, find, tests).
    const label = document.createElement('span')
    label.className = 'cm-remote-name'
    label.dataset['name'] = this.name
    label.style.backgroundColor = this.color
    caret.appendChild(label)
    return caret
  }

  override ignoreEvent(): boolean {
    return true
  }
}

function decorations(cursors: readonly RemoteCursor[], length: number): DecorationSet {
  const ranges: Range<Decoration>[] = []
  for (const c of cursors) {
    const anchor = Math.min(c.anchor, length)
    const head = Math.min(c.head, length)
    if (anchor !== head) {
      ranges.push(
        Decoration.mark({
          class: 'cm-remote-selection',
          attributes: { style: `background-color: ${c.color}33`, 'data-device': c.device },
        }).range(Math.min(anchor, head), Math.max(anchor, head)),
      )
    }
    ranges.push(Decoration.widget({ widget: new CaretWidget(c.name, c.color), side: 1 }).range(head))
  }
  return Decoration.set(ranges, true)
}

const remoteCursors = StateField.define<readonly RemoteCursor[]>({
  create: () => [],
  update(cursors, tr) {
    for (const e of tr.effects) if (e.is(setRemoteCursors)) return e.value
    if (!tr.docChanged) return cursors
    return cursors.map((c) => ({
      ...c,
      anchor: tr.changes.mapPos(c.anchor, 1),
      head: tr.changes.mapPos(c.head, 1),
    }))
  },
  provide: (field) => EditorView.decorations.from(field, (cursors) => decorations(cursors, Infinity)),
})

/** The current remote cursors (after mapping), for "follow" and tests. */
export const remoteCursorsOf = (view: EditorView): readonly RemoteCursor[] =>
  view.state.field(remoteCursors, false) ?? []

export const presenceCursors = (): Extension => [
  remoteCursors,
  EditorView.baseTheme({
    '.cm-remote-caret': {
      position: 'relative',
      borderLeft: '2px solid',
      marginLeft: '-1px',
      marginRight: '-1px',
    },
    '.cm-remote-name': {
      position: 'absolute',
      bottom: '100%',
      left: '-2px',
      padding: '0 4px',
      borderRadius: '3px 3px 3px 0',
      color: '#fff',
      fontSize: '11px',
      fontFamily: 'system-ui, sans-serif',
      lineHeight: '15px',
      whiteSpace: 'nowrap',
      pointerEvents: 'none',
      userSelect: 'none',
    },
    '.cm-remote-name::after': { content: 'attr(data-name)' },
    // On the first line there is no room above: the name goes below the caret.
    '.cm-line:first-child .cm-remote-name': { bottom: 'auto', top: '100%', borderRadius: '0 3px 3px 3px' },
  }),
]
