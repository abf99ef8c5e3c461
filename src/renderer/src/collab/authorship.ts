/**
 * Authorship: the text coloured by who wrote it, and on hover who wrote a character and when. Read
 * off the window's replica (TextDoc.authorRuns, idAt, insertedAt) and the authors the node knows (each
 * replica's device, name and colour). Only the visible ranges are decorated, so a long document costs
 * one walk over its spans per update, not one decoration per run.
 */
import { Facet, StateEffect, type Extension, type Range } from '@codemirror/state'
import {
  Decoration,
  EditorView,
  hoverTooltip,
  ViewPlugin,
  type DecorationSet,
  type ViewUpdate,
} from '@codemirror/view'
import type { AuthorInfo } from '../../../shared/api'
import type { TextDoc } from '../../../shared/crdt'
import { luminance, over } from '../colors'
import { DARK_ACTIVE_LINE, LIGHT_ACTIVE_LINE } from '../theme'

export interface AuthorshipSource {
  readonly doc: TextDoc
  /** Who wrote with each replica, by replica ID (from the node: `api.authors`). */
  readonly authors: () => Readonly<Record<string, AuthorInfo>>
}

const source = Facet.define<AuthorshipSource, AuthorshipSource | null>({ combine: (v) => v[0] ?? null })
/** The authors list changed (a refresh from the node): redraw. */
export const authorsChanged = StateEffect.define<null>()

/** A replica whose author record has not arrived yet (it travels with the text, just after it). */
export const UNKNOWN_AUTHOR: AuthorInfo = { device: '', name: 'Author not known yet', color: '#8b8d98' }

/**
 * Who wrote the character (or op) `counter` of `replica`: its author, or, where another member vouched
 * for ops its device never sealed, its author as that member's word.
 */
export function authorAt(
  authors: Readonly<Record<string, AuthorInfo>>,
  replica: string,
  counter: number,
): AuthorInfo {
  const author = authors[replica] ?? UNKNOWN_AUTHOR
  const range = author.attested?.find((r) => counter >= r.from && counter <= r.to)
  return range ? { ...author, name: `${author.name}, as ${range.by} attests` } : author
}

/** How strongly an author's colour tints their text's background, at most. */
const TINT = 0.18
/**
 * How far the tint may move the background's relative luminance (theme.ts's text colours read at 4.5:1
 * within it): up to 0.035 over the dark scheme's active line, down to 0.7 over the light one's.
 */
const DARK_TINT_LUMINANCE = 0.035
const LIGHT_TINT_LUMINANCE = 0.7

/**
 * The background of an author's text: their colour at 18% opacity, less where that would take the
 * background out of the bounds above (Amber in the dark scheme, and light or dark colours picked by
 * hand), so that every token colour still reads at 4.5:1. Returns `#rrggbbaa`.
 */
export function authorTint(color: string, dark: boolean): string {
  const key = `${dark ? 'd' : 'l'}${color}`
  let tint = tints.get(key)
  if (tint === undefined) {
    if (tints.size >= MAX_TINTS) tints.clear() // colours are peers' to pick: kept within bounds
    tints.set(key, (tint = findTint(color, dark)))
  }
  return tint
}

/** Tints made so far, by scheme and colour: marks() asks at every change while authorship shows. */
const tints = new Map<string, string>()
const MAX_TINTS = 256

function findTint(color: string, dark: boolean): string {
  const readable = dark
    ? (a: number): boolean => luminance(over(color, DARK_ACTIVE_LINE, a)) <= DARK_TINT_LUMINANCE
    : (a: number): boolean => luminance(over(color, LIGHT_ACTIVE_LINE, a)) >= LIGHT_TINT_LUMINANCE
  let alpha = TINT
  while (alpha > 0 && !readable(alpha)) alpha -= 0.005
  return `${color}${Math.round(Math.max(0, alpha) * 255)
    .toString(16)
    .padStart(2, '0')}`
}

function marks(view: EditorView, src: AuthorshipSource): DecorationSet {
  const authors = src.authors()
  const dark = view.state.facet(EditorView.darkTheme)
  const ranges: Range<Decoration>[] = []
  const visible = view.visibleRanges
  if (visible.length === 0) return Decoration.none
  const lo = visible[0]!.from
  const hi = visible[visible.length - 1]!.to
  let at = 0
  for (const run of src.doc.authorRuns()) {
    const from = at
    const to = (at += run.length)
    if (to <= lo) continue
    if (from >= hi) break
    const a = authors[run.replica] ?? UNKNOWN_AUTHOR
    ranges.push(
      Decoration.mark({
        class: 'cm-author',
        attributes: {
          style: `background-color: ${authorTint(a.color, dark)}; border-bottom: 2px solid ${a.color}`,
        },
      }).range(Math.max(from, lo), Math.min(to, hi)),
    )
  }
  return Decoration.set(ranges)
}

const plugin = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet
    constructor(view: EditorView) {
      const src = view.state.facet(source)
      this.decorations = src ? marks(view, src) : Decoration.none
    }
    update(update: ViewUpdate): void {
      const src = update.state.facet(source)
      const refresh =
        update.transactions.some((tr) => tr.effects.some((e) => e.is(authorsChanged))) ||
        update.startState.facet(EditorView.darkTheme) !== update.state.facet(EditorView.darkTheme)
      if (src && (update.docChanged || update.viewportChanged || refresh))
        this.decorations = marks(update.view, src)
    }
  },
  { decorations: (p) => p.decorations },
)

const when = (seconds: number): string =>
  seconds > 0 ? new Date(seconds * 1000).toLocaleString() : 'at an unknown time'

const tooltip = hoverTooltip((view, pos, side) => {
  const src = view.state.facet(source)
  if (!src) return null
  const at = side < 0 ? pos - 1 : pos
  if (at < 0 || at >= src.doc.length) return null
  const id = src.doc.idAt(at)
  const author = authorAt(src.authors(), id.replica, id.counter)
  return {
    pos: at,
    end: at + 1,
    above: true,
    create: () => {
      const dom = document.createElement('div')
      dom.className = 'cm-author-tooltip'
      dom.textContent = `${author.name} · ${when(src.doc.insertedAt(id))}`
      return { dom }
    },
  }
})

/** The extension that shows authorship (put it in a Compartment to toggle it). */
export const authorship = (src: AuthorshipSource): Extension => [
  source.of(src),
  plugin,
  tooltip,
  EditorView.baseTheme({ '.cm-author-tooltip': { padding: '2px 6px', fontSize: '12px' } }),
]
