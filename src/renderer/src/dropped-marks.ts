/**
 * Text whose characters were deleted long ago and whose text this device dropped (the retention policy,
 * src/main/storage/text-retention.ts): a past version shows each such character as U+FFFD. The runs
 * are marked, and say what they are on hover, so that nobody takes them for damage.
 */
import {
  Decoration,
  MatchDecorator,
  ViewPlugin,
  type DecorationSet,
  type EditorView,
  type ViewUpdate,
} from '@codemirror/view'

export const DROPPED_TITLE =
  'Deleted long ago: its text was dropped from this device (Settings, "Deleted text in history")'

const matcher = new MatchDecorator({
  regexp: /\uFFFD+/g,
  decoration: Decoration.mark({ class: 'cm-dropped', attributes: { title: DROPPED_TITLE } }),
})

export const droppedMarks = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet
    constructor(view: EditorView) {
      this.decorations = matcher.createDeco(view)
    }
    update(update: ViewUpdate): void {
      this.decorations = matcher.updateDeco(update, this.decorations)
    }
  },
  { decorations: (plugin) => plugin.decorations },
)
