/**
 * Light and dark editor themes, chosen by the OS setting (prefers-color-scheme) and switched live.
 * Light is CodeMirror's default look (basicSetup) on the app's colours, with a few token colours darker;
 * dark needs its own colours and highlight style, because the default token colours are made for a
 * white background. Both keep every token readable under an author's tint (authorship.ts).
 */
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { EditorView } from '@codemirror/view'
import type { Extension } from '@codemirror/state'
import { tags as t } from '@lezer/highlight'

/** Both schemes: the editor's page and gutter follow the app's design tokens (styles.css). */
const baseTheme = EditorView.theme({
  '&': { color: 'var(--fg)', backgroundColor: 'var(--bg)' },
  '.cm-gutters': {
    backgroundColor: 'var(--surface)',
    color: 'var(--fg-muted)',
    borderRight: '1px solid var(--border)',
  },
})

/** The light editor's active line: CodeMirror's `#cceeff44` over white, a shade below it. */
export const LIGHT_ACTIVE_LINE = '#f1faff'

/** The dark editor's background, and its active line's (white at 4% over it: `#ffffff0a`). */
export const DARK_BACKGROUND = '#1e1f22'
export const DARK_ACTIVE_LINE = '#27282b'

/**
 * The dark scheme's text colours: each reads at 4.5:1 or more (WCAG's least for body text) on the
 * editor's background, its active line, and either with an author's tint over it (authorship.ts,
 * `authorTint`). The tint may lift the background to a relative luminance of 0.035; these are at 0.345
 * or more. (Keywords, comments, properties and errors were a shade darker: 3.4-4.4:1 under a tint.)
 */
export const DARK_TEXT = {
  plain: '#e6e6e6',
  keyword: '#cb84e0',
  string: '#98c379',
  number: '#d19a66',
  comment: '#9b9fa7',
  function: '#61afef',
  type: '#e5c07b',
  property: '#e5838b',
  invalid: '#ff7373',
} as const

const darkTheme = EditorView.theme(
  {
    '&': { color: DARK_TEXT.plain, backgroundColor: DARK_BACKGROUND },
    '.cm-content': { caretColor: DARK_TEXT.plain },
    '.cm-cursor, .cm-dropCursor': { borderLeftColor: DARK_TEXT.plain },
    '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection':
      { backgroundColor: '#264f78' },
    '.cm-activeLine': { backgroundColor: '#ffffff0a' },
    '.cm-activeLineGutter': { backgroundColor: '#ffffff12' },
    '.cm-matchingBracket, &.cm-focused .cm-matchingBracket': { backgroundColor: '#3a5a3a', outline: 'none' },
    '.cm-searchMatch': { backgroundColor: '#72a1ff59' },
    '.cm-panels': { backgroundColor: '#2b2d31', color: DARK_TEXT.plain },
    '.cm-tooltip': { backgroundColor: '#2b2d31', border: '1px solid #444' },
  },
  { dark: true },
)

const darkHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.operatorKeyword, t.modifier], color: DARK_TEXT.keyword },
  { tag: [t.string, t.special(t.string), t.regexp], color: DARK_TEXT.string },
  { tag: [t.number, t.bool, t.null, t.atom], color: DARK_TEXT.number },
  { tag: [t.comment, t.lineComment, t.blockComment], color: DARK_TEXT.comment, fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: DARK_TEXT.function },
  { tag: [t.typeName, t.className, t.namespace], color: DARK_TEXT.type },
  { tag: [t.propertyName, t.attributeName], color: DARK_TEXT.property },
  { tag: [t.tagName], color: DARK_TEXT.property },
  { tag: t.heading, color: DARK_TEXT.property, fontWeight: 'bold' },
  { tag: t.link, color: DARK_TEXT.function, textDecoration: 'underline' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strong, fontWeight: 'bold' },
  { tag: t.invalid, color: DARK_TEXT.invalid },
])

/**
 * The light scheme's text colours: CodeMirror's default highlight style's, but for three that read at
 * less than 4.5:1 on white or under an author's tint (types #085: 3.5:1 under Violet's; regexps #e40:
 * 3.8:1 and invalid #f00: 4.0:1 on white), each a shade darker. Every one reads at 4.5:1 or more on a
 * background of relative luminance 0.7, which no author's tint goes below (authorship.ts).
 */
export const LIGHT_TEXT = {
  meta: '#404740',
  keyword: '#770088',
  atom: '#221199',
  literal: '#116644',
  string: '#aa1111',
  regexp: '#9c2d00',
  definition: '#0000ff',
  local: '#3300aa',
  type: '#005f3b',
  className: '#116677',
  special: '#225566',
  property: '#0000cc',
  comment: '#994400',
  invalid: '#ad0000',
} as const

const lightHighlight = HighlightStyle.define([
  { tag: t.meta, color: LIGHT_TEXT.meta },
  { tag: t.link, textDecoration: 'underline' },
  { tag: t.heading, textDecoration: 'underline', fontWeight: 'bold' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strong, fontWeight: 'bold' },
  { tag: t.strikethrough, textDecoration: 'line-through' },
  { tag: t.keyword, color: LIGHT_TEXT.keyword },
  { tag: [t.atom, t.bool, t.url, t.contentSeparator, t.labelName], color: LIGHT_TEXT.atom },
  { tag: [t.literal, t.inserted], color: LIGHT_TEXT.literal },
  { tag: [t.string, t.deleted], color: LIGHT_TEXT.string },
  { tag: [t.regexp, t.escape, t.special(t.string)], color: LIGHT_TEXT.regexp },
  { tag: t.definition(t.variableName), color: LIGHT_TEXT.definition },
  { tag: t.local(t.variableName), color: LIGHT_TEXT.local },
  { tag: [t.typeName, t.namespace], color: LIGHT_TEXT.type },
  { tag: t.className, color: LIGHT_TEXT.className },
  { tag: [t.special(t.variableName), t.macroName], color: LIGHT_TEXT.special },
  { tag: t.definition(t.propertyName), color: LIGHT_TEXT.property },
  { tag: t.comment, color: LIGHT_TEXT.comment },
  { tag: t.invalid, color: LIGHT_TEXT.invalid },
])

export const themeFor = (dark: boolean): Extension =>
  dark
    ? [baseTheme, darkTheme, syntaxHighlighting(darkHighlight)]
    : [baseTheme, syntaxHighlighting(lightHighlight)]

export const darkQuery = (): MediaQueryList => window.matchMedia('(prefers-color-scheme: dark)')
