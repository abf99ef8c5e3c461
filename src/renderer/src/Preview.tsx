import { useEffect, useRef } from 'react'
import { defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { Compartment, EditorState } from '@codemirror/state'
import { EditorView, lineNumbers } from '@codemirror/view'
import { droppedMarks } from './dropped-marks'
import { loadLanguage } from './language'
import { darkQuery, themeFor } from './theme'

/**
 * A past version of the document, read-only, in place of the editor (the history slider). It looks
 * like the editor: the same syntax mode (the document's "language" property, else its file name) and
 * the same theme, following the OS scheme live. Text whose deleted characters were dropped is marked.
 */
export function Preview({
  text,
  label,
  language,
  fileName,
}: {
  text: string
  label: string
  language: string | null
  fileName: string | null
}): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!host.current) return
    const mode = new Compartment()
    const theme = new Compartment()
    const media = darkQuery()
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: text,
        extensions: [
          EditorState.readOnly.of(true),
          EditorView.editable.of(false),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'Past version of the document (read-only)' }),
          lineNumbers(),
          droppedMarks,
          // As the editor's basicSetup has it: the light scheme's colours (the dark theme brings its own).
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          mode.of([]),
          theme.of(themeFor(media.matches)),
        ],
      }),
    })
    const cancelLoad = loadLanguage(view, mode, language, fileName)
    const onScheme = (e: MediaQueryListEvent): void => {
      view.dispatch({ effects: theme.reconfigure(themeFor(e.matches)) })
    }
    media.addEventListener('change', onScheme)
    return () => {
      cancelLoad()
      media.removeEventListener('change', onScheme)
      view.destroy()
    }
  }, [text, language, fileName])
  return (
    <div className="preview" data-testid="preview">
      <div className="preview-label">Past version, read-only: {label}</div>
      <div className="editor" ref={host} data-testid="preview-editor" />
    </div>
  )
}
