import { useEffect, useRef } from 'react'
import { basicSetup } from 'codemirror'
import { EditorView } from '@codemirror/view'
import { EditorState } from '@codemirror/state'

interface EditorProps {
  readonly onCursor: (pos: { line: number; column: number }) => void
}

/** The CodeMirror 6 editor. React owns the container; CodeMirror owns everything inside it. */
export function Editor({ onCursor }: EditorProps): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null)
  const onCursorRef = useRef(onCursor)
  useEffect(() => {
    onCursorRef.current = onCursor
  }, [onCursor])

  useEffect(() => {
    if (!host.current) return
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: '',
        extensions: [
          basicSetup,
          EditorView.lineWrapping,
          EditorView.updateListener.of((update) => {
            if (!update.selectionSet && !update.docChanged) return
            const head = update.state.selection.main.head
            const line = update.state.doc.lineAt(head)
            onCursorRef.current({ line: line.number, column: head - line.from + 1 })
          }),
        ],
      }),
    })
    view.focus()
    return () => view.destroy()
  }, [])

  return <div className="editor" ref={host} data-testid="editor" />
}
