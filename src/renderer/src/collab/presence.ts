/**
 * Other people's cursors and selections in the editor, each in its person's colour, and who they are.
 * Positions come from CRDT anchors (resolved by the caller with TextDoc.cursorIndex whenever presence
 * arrives) and are mapped through every change in between, so they stay on their characters while
 * anyone types.
 *
 * The caret is a thin bar in the text; the name is never drawn over text (a label above the caret
 * hid the line above it, and on line 1 the line below). It goes in a gutter beside the caret's line:
 * a badge per person in their colour with their initials, the full name on hover. Gutters are outside
 * the content, so a badge can cover nothing anyone reads, and copy and find never see it.
 */
import { RangeSet, StateEffect, StateField, type Extension, type Range } from '@codemirror/state'
import {
  Decoration,
  EditorView,
  GutterMarker,
  WidgetType,
  gutter,
  type DecorationSet,
} from '@codemirror/view'
import { luminance } from '../colors'

export interface RemoteCursor {
  readonly device: string
  readonly name: string
  readonly color: string
  readonly anchor: number
  readonly head: number
}

/** Replaces the remote cursors (positions in the current document). */
export const setRemoteCursors = StateEffect.define<readonly RemoteCursor[]>()

/** A person's initials for their badge: "Ana Lima" → "AL", "bob" → "B". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean)
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words.slice(0, 1)
  return letters.map((w) => String.fromCodePoint(w.codePointAt(0)!).toUpperCase()).join('') || '?'
}

/** Dark or white text, whichever reads better on `color` (#rrggbb): amber wants dark, blue white. */
function inkOn(color: string): string {
  return luminance(color) > 0.4 ? '#1c2024' : '#ffffff'
}

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

/** The badges of the people whose cursors are on one line. */
class PeopleMarker extends GutterMarker {
  constructor(private readonly people: readonly RemoteCursor[]) {
    super()
  }

  override eq(other: PeopleMarker): boolean {
    return (
      other.people.length === this.people.length &&
      other.people.every((p, i) => p.name === this.people[i]!.name && p.color === this.people[i]!.color)
    )
  }

  override toDOM(): Node {
    const badges = document.createElement('span')
    badges.className = 'cm-remote-names'
    for (const p of this.people) {
      const badge = document.createElement('span')
      badge.className = 'cm-remote-name'
      badge.dataset['name'] = p.name
      badge.title = `${p.name}'s cursor is on this line`
      badge.style.backgroundColor = p.color
      badge.style.color = inkOn(p.color)
      badge.textContent = initials(p.name)
      badges.appendChild(badge)
    }
    return badges
  }
}

function badgesOf(view: EditorView): RangeSet<GutterMarker> {
  const doc = view.state.doc
  const byLine = new Map<number, RemoteCursor[]>()
  for (const c of view.state.field(remoteCursors)) {
    const from = doc.lineAt(Math.min(c.head, doc.length)).from
    byLine.set(from, [...(byLine.get(from) ?? []), c])
  }
  const markers = [...byLine].sort(([a], [b]) => a - b)
  return RangeSet.of(markers.map(([from, people]) => new PeopleMarker(people).range(from)))
}

/** The current remote cursors (after mapping), for "follow" and tests. */
export const remoteCursorsOf = (view: EditorView): readonly RemoteCursor[] =>
  view.state.field(remoteCursors, false) ?? []

export const presenceCursors = (): Extension => [
  remoteCursors,
  gutter({ class: 'cm-presence-gutter', markers: badgesOf }),
  EditorView.baseTheme({
    '.cm-remote-caret': {
      position: 'relative',
      borderLeft: '2px solid',
      marginLeft: '-1px',
      marginRight: '-1px',
    },
    // Room for two badges side by side without the text moving when people come and go.
    '.cm-presence-gutter': { minWidth: '30px' },
    '.cm-remote-names': {
      display: 'flex',
      gap: '2px',
      padding: '0 3px',
      alignItems: 'center',
      height: '100%',
    },
    '.cm-remote-name': {
      display: 'inline-block',
      minWidth: '12px',
      padding: '0 2px',
      borderRadius: '7px',
      fontSize: '10px',
      fontWeight: '600',
      fontFamily: 'system-ui, sans-serif',
      lineHeight: '15px',
      textAlign: 'center',
      whiteSpace: 'nowrap',
      userSelect: 'none',
      cursor: 'default',
    },
  }),
]
