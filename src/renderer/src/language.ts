/**
 * The document's syntax mode, one rule for every view of its text (the editor, a past version in
 * History, the status bar's picker): the "language" property names it, else the file name implies it.
 * Modes come from @codemirror/language-data and load on demand.
 */
import { LanguageDescription } from '@codemirror/language'
import { languages } from '@codemirror/language-data'
import type { Compartment, Extension } from '@codemirror/state'
import type { EditorView } from '@codemirror/view'

/** Every mode offered, by name (the picker's list; a "language" property names one of these). */
export const LANGUAGES: readonly LanguageDescription[] = [...languages].sort((a, b) =>
  a.name.localeCompare(b.name),
)

/** The mode for a "language" property (by name or alias), else for the file name; null: plain text. */
export function languageFor(name: string | null, fileName: string | null): LanguageDescription | null {
  if (name) return LanguageDescription.matchLanguageName(languages, name, true) ?? null
  return fileName ? LanguageDescription.matchFilename(languages, fileName) : null
}

/**
 * Puts the mode for `name`/`fileName` into `view`'s `slot` once loaded (at once if plain text).
 * Returns a cancel, for when the view or the mode changes before the load finished.
 */
export function loadLanguage(
  view: EditorView,
  slot: Compartment,
  name: string | null,
  fileName: string | null,
): () => void {
  let live = true
  const description = languageFor(name, fileName)
  const apply = (support: Extension): void => {
    if (live) view.dispatch({ effects: slot.reconfigure(support) })
  }
  if (!description) apply([])
  else void description.load().then(apply)
  return () => {
    live = false
  }
}
