/**
 * "While you were away": text that others wrote while this device was offline, highlighted when it
 * arrives in a resync, until the user dismisses it. The ranges are decorations mapped through every
 * later change, so typing around them keeps them on the right text.
 */
import {
  Annotation,
  StateEffect,
  StateField,
  type EditorState,
  type Extension,
  type Range,
} from '@codemirror/state'
import { Decoration, EditorView, type DecorationSet } from '@codemirror/view'

/** On a remote transaction: its changes arrived in a catch-up after time apart. */
export const catchUpChange = Annotation.define<boolean>()
export const clearAway = StateEffect.define<null>()
/** Stretches to highlight as changed while away (a document opened after its catch-up). */
export const markAway = StateEffect.define<readonly { from: number; to: number }[]>()

const mark = Decoration.mark({ class: 'cm-away' })

const away = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(set, tr) {
    if (tr.effects.some((e) => e.is(clearAway))) return Decoration.none
    set = set.map(tr.changes)
    for (const e of tr.effects) {
      if (!e.is(markAway) || e.value.length === 0) continue
      set = set.update({ add: e.value.map((r) => mark.range(r.from, r.to)), sort: true })
    }
    if (tr.annotation(catchUpChange)) {
      const added: Range<Decoration>[] = []
      tr.changes.iterChangedRanges((_fromA, _toA, fromB, toB) => {
        if (toB > fromB) added.push(mark.range(fromB, toB))
      })
      if (added.length > 0) set = set.update({ add: added, sort: true })
    }
    return set
  },
  provide: (field) => EditorView.decorations.from(field),
})

/**
 * The highlighted stretches (none once dismissed). Stretches that touch are one: text that came in two
 * catch-up batches (one relayed, one straight from its author) is one place to the reader.
 */
export function awayRanges(view: EditorView | { state: EditorState }): { from: number; to: number }[] {
  const ranges: { from: number; to: number }[] = []
  view.state.field(away, false)?.between(0, view.state.doc.length, (from, to) => {
    const last = ranges[ranges.length - 1]
    if (last && from <= last.to) last.to = Math.max(last.to, to)
    else ranges.push({ from, to })
  })
  return ranges
}

export const awayHighlights = (): Extension => [
  away,
  EditorView.baseTheme({
    '&light .cm-away': { backgroundColor: '#fff3b0' },
    '&dark .cm-away': { backgroundColor: '#5a4a00' },
  }),
]
