/**
 * Text that came from a peer (names, titles, reasons, document text), made safe to show. A terminal
 * obeys control characters: an escape sequence in a peer's name could clear the screen, retitle the
 * window or fake a prompt. And bidirectional overrides can make a name read as another, in a terminal
 * or in the UI. These are shown as visible stand-ins rather than dropped, so nothing hides that they
 * were there.
 */

// C0 controls but tab and line feed, DEL, C1 controls; and the bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex -- finding control characters is this pattern's job
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** C0 controls and DEL as their Unicode control pictures (ESC → ␛), others as U+FFFD. */
function standIn(c: string): string {
  const code = c.charCodeAt(0)
  if (code < 0x20) return String.fromCharCode(0x2400 + code)
  if (code === 0x7f) return '\u2421'
  return '\uFFFD'
}

/** `s` with every control and bidi-override character replaced by a visible stand-in. */
export function displayText(s: string): string {
  return s.replace(UNSAFE, standIn)
}

/** A one-line label (a name, a title): as displayText, and line breaks shown as ⏎ too. */
export function displayLabel(s: string): string {
  return displayText(s).replace(/[\n\t\u2028\u2029]/g, (c) => (c === '\t' ? ' ' : '\u23CE'))
}

/**
 * JSON for a terminal line: exact (JSON.parse gives back `value`), with every character that
 * displayText would replace, and U+2028/U+2029, written as a \u escape.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
