import { useEffect, useRef } from 'react'
import { EditorState } from '@codemirror/state'
import { EditorView, lineNumbers } from '@codemirror/view'
import { darkQuery, themeFor } from './theme'

/** A past version of the document, read-only, in place of the editor (the history slider). */
export function Preview({ text, label }: { text: string; label: string }): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!host.current) return
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
          themeFor(darkQuery().matches),
        ],
      }),
    })
    return () => view.destroy()
  }, [text])
  return (
    <div className="preview" data-testid="preview">
      <div className="preview-label">Past version, read-only: {label}</div>
      <div className="editor" ref={host} data-testid="preview-editor" />
    </div>
  )
}
