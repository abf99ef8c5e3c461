/**
 * Light and dark editor themes, chosen by the OS setting (prefers-color-scheme) and switched live.
 * Light is CodeMirror's default look (basicSetup) on the app's colours; dark needs its own colours and highlight style,
 * because the default token colours are made for a white background.
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

const darkTheme = EditorView.theme(
  {
    '&': { color: '#e6e6e6', backgroundColor: '#1e1f22' },
    '.cm-content': { caretColor: '#e6e6e6' },
    '.cm-cursor, .cm-dropCursor': { borderLeftColor: '#e6e6e6' },
    '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection':
      { backgroundColor: '#264f78' },
    '.cm-activeLine': { backgroundColor: '#ffffff0a' },
    '.cm-activeLineGutter': { backgroundColor: '#ffffff12' },
    '.cm-matchingBracket, &.cm-focused .cm-matchingBracket': { backgroundColor: '#3a5a3a', outline: 'none' },
    '.cm-searchMatch': { backgroundColor: '#72a1ff59' },
    '.cm-panels': { backgroundColor: '#2b2d31', color: '#e6e6e6' },
    '.cm-tooltip': { backgroundColor: '#2b2d31', border: '1px solid #444' },
  },
  { dark: true },
)

const darkHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.operatorKeyword, t.modifier], color: '#c678dd' },
  { tag: [t.string, t.special(t.string), t.regexp], color: '#98c379' },
  { tag: [t.number, t.bool, t.null, t.atom], color: '#d19a66' },
  { tag: [t.comment, t.lineComment, t.blockComment], color: '#7f848e', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: '#61afef' },
  { tag: [t.typeName, t.className, t.namespace], color: '#e5c07b' },
  { tag: [t.propertyName, t.attributeName], color: '#e06c75' },
  { tag: [t.tagName], color: '#e06c75' },
  { tag: t.heading, color: '#e06c75', fontWeight: 'bold' },
  { tag: t.link, color: '#61afef', textDecoration: 'underline' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strong, fontWeight: 'bold' },
  { tag: t.invalid, color: '#ff6b6b' },
])

export const themeFor = (dark: boolean): Extension =>
  dark ? [baseTheme, darkTheme, syntaxHighlighting(darkHighlight)] : baseTheme

export const darkQuery = (): MediaQueryList => window.matchMedia('(prefers-color-scheme: dark)')
