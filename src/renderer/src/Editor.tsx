import { useEffect, useRef } from 'react'
import { basicSetup } from 'codemirror'
import { EditorView } from '@codemirror/view'
import { Compartment, EditorState } from '@codemirror/state'
import { LanguageDescription } from '@codemirror/language'
import { languages } from '@codemirror/language-data'
import type { DocRole } from '../../shared/api'
import { TextDoc } from '../../shared/crdt'
import { applyRemoteBatch, textDocSync } from './binding/sync'
import type { DocEvents } from './doc-events'
import { darkQuery, themeFor } from './theme'

/** A document to edit: its ID and state from the node, or null for a scratch editor with no node. */
export interface EditorDoc {
  readonly docId: string
  readonly state: Uint8Array
  readonly fileName: string | null
  readonly role: DocRole | null
}

interface EditorProps {
  readonly doc: EditorDoc | null
  readonly events: DocEvents | null
  /** Sends a batch of the window's replica to the node. */
  readonly push: (docId: string, batch: Uint8Array) => void
  readonly onCursor: (pos: { line: number; column: number }) => void
  /** Hears the view once made (and null when it goes), so menu commands can act on it. */
  readonly onView?: (view: EditorView | null) => void
}

/** A replica ID for this window's replica: fresh per opened editor, as CodeMirror views are. */
function newReplicaId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9))
  return 'ui-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** The CodeMirror 6 editor. React owns the container; CodeMirror owns everything inside it. */
export function Editor({ doc, events, push, onCursor, onView }: EditorProps): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null)
  const onCursorRef = useRef(onCursor)
  const pushRef = useRef(push)
  const onViewRef = useRef(onView)
  useEffect(() => {
    onCursorRef.current = onCursor
    pushRef.current = push
    onViewRef.current = onView
  }, [onCursor, push, onView])

  useEffect(() => {
    if (!host.current) return
    const replica = new TextDoc(newReplicaId())
    if (doc) replica.applyRemote(doc.state)
    const language = new Compartment()
    const theme = new Compartment()
    const media = darkQuery()
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: replica.toString(),
        extensions: [
          basicSetup,
          EditorView.lineWrapping,
          // A viewer's node refuses its edits: the editor must not make any.
          EditorState.readOnly.of(doc?.role === 'viewer'),
          language.of([]),
          theme.of(themeFor(media.matches)),
          doc ? textDocSync({ doc: replica, push: (batch) => pushRef.current(doc.docId, batch) }) : [],
          EditorView.updateListener.of((update) => {
            if (!update.selectionSet && !update.docChanged) return
            const head = update.state.selection.main.head
            const line = update.state.doc.lineAt(head)
            onCursorRef.current({ line: line.number, column: head - line.from + 1 })
          }),
        ],
      }),
    })
    let live = true
    const description = doc?.fileName ? LanguageDescription.matchFilename(languages, doc.fileName) : null
    if (description) {
      void description.load().then((support) => {
        if (live) view.dispatch({ effects: language.reconfigure(support) })
      })
    }
    const onScheme = (e: MediaQueryListEvent): void => {
      view.dispatch({ effects: theme.reconfigure(themeFor(e.matches)) })
    }
    media.addEventListener('change', onScheme)
    const unbind =
      doc && events ? events.bind(doc.docId, { ops: (batch) => applyRemoteBatch(view, batch) }) : null
    onViewRef.current?.(view)
    view.focus()
    return () => {
      onViewRef.current?.(null)
      live = false
      unbind?.()
      media.removeEventListener('change', onScheme)
      view.destroy()
    }
  }, [doc, events])

  return <div className="editor" ref={host} data-testid="editor" />
}
