import { useEffect, useRef } from 'react'
import { basicSetup } from 'codemirror'
import { EditorView, keymap } from '@codemirror/view'
import { indentWithTab } from '@codemirror/commands'
import { Compartment, EditorState } from '@codemirror/state'
import type { ApiResult, AuthorInfo, DocRole, TextOrderAnswer } from '../../shared/api'
import { openWindowState, TextDoc, type VersionVector } from '../../shared/crdt'
import { OrderCheck } from './binding/order-check'
import { applyRemoteBatch, drawTypingFirst, forgetTyped, textDocSync } from './binding/sync'
import { authorship, authorsChanged } from './collab/authorship'
import { awayHighlights, catchUpChange, markAway } from './collab/away'
import { presenceCursors } from './collab/presence'
import type { DocEvents } from './doc-events'
import { loadLanguage } from './language'
import { darkQuery, themeFor } from './theme'
import { typeAhead } from './typing'

/** A document to edit: its ID and state from the node, or null for a scratch editor with no node. */
export interface EditorDoc {
  readonly docId: string
  readonly state: Uint8Array
  /** Instead of `state`, for a long history (OpenedDoc.snapshot). */
  readonly snapshot?: Uint8Array
  readonly fileName: string | null
  readonly role: DocRole | null
  /** The replica ID this editor edits with (OpenedDoc.replica). */
  readonly replica: string
  /** Highlight what came after this version as changed while away (OpenedDoc.awaySince). */
  readonly awaySince?: VersionVector
}

/** What the window's other parts use of an editor: its view and its replica of the document. */
export interface EditorHandle {
  readonly view: EditorView
  readonly replica: TextDoc
  /** The document it shows (its state loaded and its queued ops applied), or null for scratch. */
  readonly docId: string | null
}

interface EditorProps {
  readonly doc: EditorDoc | null
  readonly events: DocEvents | null
  /** Sends a batch of the window's replica to the node; settles once the node answered. */
  readonly push: (docId: string, batch: Uint8Array) => Promise<unknown>
  /** Asks the node whether it holds the text in the replica's order (the API's `checkOrder`). */
  readonly checkOrder: (
    docId: string,
    version: VersionVector,
    digest: Uint8Array,
  ) => Promise<ApiResult<TextOrderAnswer>>
  /** The node holds the text in another order than the replica: open the document again. */
  readonly onOrderDiffers: (docId: string) => void
  readonly onCursor: (pos: { line: number; column: number }) => void
  /** Hears the editor once made (and null when it goes), for menu commands, presence and history. */
  readonly onReady?: (handle: EditorHandle | null) => void
  /** Hears every change of selection or text (presence, status bar). */
  readonly onUpdate?: (docChanged: boolean) => void
  /** Editing refused (a viewer, or while a past version is shown). */
  readonly readOnly: boolean
  /** The document's "language" property, which overrides the file name's. */
  readonly language: string | null
  /** Colour the text by author (null: off). */
  readonly authors: Readonly<Record<string, AuthorInfo>> | null
  /**
   * Whether this is the editor shown (default true). A project window keeps a hidden editor per open
   * tab, following its document, and only the shown one is the window's: it alone reports itself
   * (`onReady`), its cursor and its updates, and takes the window's language, read-only and authors.
   */
  readonly active?: boolean
}

/**
 * Openings of a document this window has edited with, by their state. Each opening comes with its own
 * replica and the document's state, which holds that replica's earlier ops (after a restart the node
 * may hand out again a replica of its last clean close); an editor made again from the same state must
 * not edit once it made ops, or its counters would start again where the node already has ops.
 */
const spentOpenings = new WeakSet<Uint8Array>()
/** Stands in for a missing opening (no document): its replica never sends anything. */
const DETACHED_REPLICA = 'detached'

/** The CodeMirror 6 editor. React owns the container; CodeMirror owns everything inside it. */
export function Editor(props: EditorProps): React.JSX.Element {
  const { doc, events } = props
  const host = useRef<HTMLDivElement>(null)
  const latest = useRef(props)
  const handle = useRef<EditorHandle | null>(null)
  /** Whether the editor was made from an opening that had made ops already (see spentOpenings). */
  const spentAtMount = useRef(false)
  const compartments = useRef({
    language: new Compartment(),
    readOnly: new Compartment(),
    authorship: new Compartment(),
  })
  useEffect(() => {
    latest.current = props
  })

  useEffect(() => {
    if (!host.current) return
    const id = doc?.replica ?? DETACHED_REPLICA
    // A long history comes as the snapshot, read in proportion to the text (its history only if needed).
    const replica = doc?.snapshot ? openWindowState(doc.snapshot, id) : new TextDoc(id)
    if (doc && !doc.snapshot) replica.applyRemote(doc.state)
    // Reused after it made ops (the same opening shown again): read-only until the document is reopened.
    const spent = doc !== null && spentOpenings.has(doc.snapshot ?? doc.state)
    spentAtMount.current = spent
    const { language, readOnly, authorship: authorsSlot } = compartments.current
    const theme = new Compartment()
    const media = darkQuery()
    // Once the text is quiet, asks whether the node holds it in this order (binding/order-check.ts).
    const order = doc
      ? new OrderCheck({
          replica,
          ask: (version, digest) => latest.current.checkOrder(doc.docId, version, digest),
          differs: () => latest.current.onOrderDiffers(doc.docId),
        })
      : null
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: replica.toString(),
        extensions: [
          // First, so that a keystroke's ops leave before the other extensions' updates run.
          doc
            ? textDocSync({
                doc: replica,
                push: (batch) => {
                  spentOpenings.add(doc.snapshot ?? doc.state)
                  order?.pushing(latest.current.push(doc.docId, batch))
                },
              })
            : [],
          typeAhead(),
          basicSetup,
          // Tab indents, as in code editors. Keyboard users leave with Escape then Tab (CodeMirror's
          // documented way out; README, "Using the editor").
          keymap.of([indentWithTab]),
          EditorView.lineWrapping,
          // The text area's name for screen readers (CodeMirror's content is a bare contenteditable).
          EditorView.contentAttributes.of({ 'aria-label': 'Document text' }),
          // A viewer's node refuses its edits: the editor must not make any.
          readOnly.of(EditorState.readOnly.of(latest.current.readOnly || spent)),
          language.of([]),
          theme.of(themeFor(media.matches)),
          presenceCursors(),
          awayHighlights(),
          authorsSlot.of([]),
          EditorView.updateListener.of((update) => {
            if (!update.selectionSet && !update.docChanged && !update.focusChanged) return
            if (latest.current.active === false) return
            const head = update.state.selection.main.head
            const line = update.state.doc.lineAt(head)
            latest.current.onCursor({ line: line.number, column: head - line.from + 1 })
            latest.current.onUpdate?.(update.docChanged)
          }),
        ],
      }),
    })
    drawTypingFirst(view)
    const onScheme = (e: MediaQueryListEvent): void => {
      view.dispatch({ effects: theme.reconfigure(themeFor(e.matches)) })
    }
    media.addEventListener('change', onScheme)
    const unbind =
      doc && events
        ? events.bind(doc.docId, {
            ops: (batch, catchUp) => {
              applyRemoteBatch(view, batch, catchUp ? [catchUpChange.of(true)] : [])
              order?.changed()
            },
          })
        : null
    // Opened after others' changes came in while this device was away: they are highlighted too.
    if (doc?.awaySince) view.dispatch({ effects: markAway.of(replica.insertedSince(doc.awaySince)) })
    handle.current = { view, replica, docId: doc?.docId ?? null }
    return () => {
      handle.current = null
      order?.close()
      unbind?.()
      media.removeEventListener('change', onScheme)
      forgetTyped(view)
      view.destroy()
    }
  }, [doc, events])

  // Shown: the window's editor, focused. Made again (a new doc) or hidden: no longer.
  const active = props.active ?? true
  useEffect(() => {
    const h = handle.current
    if (!active || !h) return
    // A view kept hidden measured nothing meanwhile (CodeMirror skips a view that is not displayed).
    h.view.requestMeasure()
    latest.current.onReady?.(h)
    h.view.focus()
    return () => latest.current.onReady?.(null)
  }, [active, doc, events])

  // Syntax by the "language" property, else by the file name; loaded on demand.
  const fileName = doc?.fileName ?? null
  const languageName = props.language
  useEffect(() => {
    const h = handle.current
    if (!h || !active) return
    return loadLanguage(h.view, compartments.current.language, languageName, fileName)
  }, [languageName, fileName, doc, active])

  const readOnlyNow = props.readOnly
  useEffect(() => {
    if (!active) return
    const slot = compartments.current.readOnly
    const readOnly = readOnlyNow || spentAtMount.current
    handle.current?.view.dispatch({ effects: slot.reconfigure(EditorState.readOnly.of(readOnly)) })
  }, [readOnlyNow, doc, active])

  // Authorship on or off; a new authors list redraws it.
  const showAuthors = props.authors !== null
  const authors = props.authors
  useEffect(() => {
    const h = handle.current
    if (!h || !active) return
    const slot = compartments.current.authorship
    const current = (): Readonly<Record<string, AuthorInfo>> => latest.current.authors ?? {}
    h.view.dispatch({
      effects: slot.reconfigure(showAuthors ? authorship({ doc: h.replica, authors: current }) : []),
    })
  }, [showAuthors, doc, active])
  useEffect(() => {
    if (active) handle.current?.view.dispatch({ effects: authorsChanged.of(null) })
  }, [authors, active])

  return <div className="editor" ref={host} data-testid="editor" />
}
