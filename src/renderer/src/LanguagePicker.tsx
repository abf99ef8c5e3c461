import { useMemo } from 'react'
import { LANGUAGES, languageFor } from './language'

/** The select's value for "no language property": the mode follows the file name. */
const AUTOMATIC = ''

/**
 * The document's syntax mode, in the status bar: "Automatic" (from the file name) or one of
 * CodeMirror's modes, by name. A choice is the document's "language" property, so every member's
 * window follows it live. Type a name's first letters to jump to it (a native select does that).
 */
export function LanguagePicker({
  language,
  fileName,
  disabled,
  onChange,
}: {
  /** The "language" property, or null. */
  language: string | null
  fileName: string | null
  disabled: boolean
  /** A mode's name, or null for automatic (the property removed). */
  onChange: (language: string | null) => void
}): React.JSX.Element {
  const chosen = language ? languageFor(language, null) : null
  const automatic = languageFor(null, fileName)?.name ?? 'plain text'
  // A property naming no known mode (typed by hand) shows as it is, and still means plain text.
  const value = language === null ? AUTOMATIC : (chosen?.name ?? language)
  const options = useMemo(() => LANGUAGES.map((l) => l.name), [])
  return (
    <select
      className="language-picker"
      data-testid="language-picker"
      aria-label="Language"
      title="Syntax highlighting: the document's language, for everyone"
      value={value}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value === AUTOMATIC ? null : e.target.value)}
    >
      <option value={AUTOMATIC}>Automatic ({automatic})</option>
      {language !== null && !chosen && <option value={language}>{language} (not known)</option>}
      {options.map((name) => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </select>
  )
}
