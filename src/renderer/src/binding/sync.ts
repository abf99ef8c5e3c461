/**
 * The CodeMirror ↔ TextDoc binding, a thin adapter in the manner of y-codemirror.next's y-sync: its
 * configuration lives in a Facet, its logic in a ViewPlugin, and an origin annotation marks remote
 * changes so that they are neither echoed back to the node nor recorded in the undo history.
 *
 * Only op batches leave the editor: a local transaction becomes TextDoc.localInsert/localDelete calls on
 * the window's own replica, whose batches are pushed to the node; a batch from the node goes through
 * TextDoc.applyRemote, whose changes become one CodeMirror transaction.
 */
import {
  Annotation,
  ChangeSet,
  EditorState,
  Facet,
  Prec,
  StateEffect,
  Transaction,
  type Extension,
  type Text,
} from '@codemirror/state'
import { EditorView, ViewPlugin, type ViewUpdate } from '@codemirror/view'
import type { TextChange, TextDoc } from '../../../shared/crdt'

export interface SyncConfig {
  /** The window's replica of the document. */
  readonly doc: TextDoc
  /** Sends a batch made by `doc` to the node (in the order given). */
  readonly push: (batch: Uint8Array) => void
}

/** Marks a transaction that applies changes from elsewhere (peers, the file on disk): not echoed. */
export const remoteOrigin = Annotation.define<boolean>()

/** Marks a local transaction whose ops `pushAhead` already made and sent: not made again. */
export const pushedAhead = Annotation.define<boolean>()

export const syncConfig = Facet.define<SyncConfig, SyncConfig | null>({
  combine: (values) => values[0] ?? null,
})

/**
 * Turns one transaction's changes into replica edits, in order. `iterChanges` reports each change
 * with its range in the old document (fromA..toA) and its start in the new one (fromB); walking in
 * ascending order, every earlier change has already been applied to the replica, so the replica's
 * coordinates at this change are exactly the new document's: delete at fromB, then insert there.
 */
export function localBatches(doc: TextDoc, changes: ChangeSet): Uint8Array[] {
  const batches: Uint8Array[] = []
  changes.iterChanges((fromA, toA, fromB, _toB, inserted: Text) => {
    if (toA > fromA) batches.push(doc.localDelete(fromB, toA - fromA))
    const text = inserted.toString()
    if (text.length > 0) batches.push(doc.localInsert(fromB, text))
  })
  return batches
}

/**
 * The replica's changes as one CodeMirror ChangeSet. TextDoc reports them sequentially (each index is
 * in the text left by the previous change) while a ChangeSet's ranges refer to the original document,
 * so each is made against the current length and composed onto the rest.
 */
export function changeSetOf(changes: readonly TextChange[], length: number): ChangeSet {
  let set = ChangeSet.empty(length)
  let current = length
  for (const c of changes) {
    const step = ChangeSet.of({ from: c.index, to: c.index + c.deleted, insert: c.inserted }, current)
    set = set.compose(step)
    current = step.newLength
  }
  return set
}

/**
 * Applies a batch from the node to the replica and shows its effect, annotated as remote (plus
 * `extra` annotations, e.g. that it came in a catch-up).
 */
export function applyRemoteBatch(
  view: EditorView,
  batch: Uint8Array,
  extra: readonly Annotation<unknown>[] = [],
): void {
  drawTyped() // the replica's changes are positions in its text, which holds every keystroke
  const config = view.state.facet(syncConfig)
  if (!config) throw new Error('applyRemoteBatch: the editor has no sync binding')
  const changes = config.doc.applyRemote(batch)
  if (changes.length === 0) return // a duplicate or an echo: the replica knew it already
  view.dispatch({
    changes: changeSetOf(changes, view.state.doc.length),
    annotations: [remoteOrigin.of(true), Transaction.addToHistory.of(false), ...extra],
  })
}

/**
 * Makes and sends the ops of `tr`, a local transaction marked `pushedAhead` and about to be dispatched
 * as it is, before CodeMirror computes its state and updates the view: a keystroke's ops leave that
 * much sooner. Its changes are final once made (filters ran when it was created), so the replica and
 * the editor agree once it is dispatched.
 */
export function pushAhead(view: EditorView, tr: Transaction): void {
  const config = view.state.facet(syncConfig)
  if (!config || !tr.annotation(pushedAhead)) return
  for (const batch of localBatches(config.doc, tr.changes)) config.push(batch)
}

/** Keystrokes pushed ahead whose editor does not show them yet (typing.ts), by editor. */
const undrawn = new Map<EditorView, Transaction>()

/**
 * `tr`, pushed ahead, is dispatched later (`drawTyped`): until then the editor shows one keystroke
 * less than its replica holds. Code that reads the editor's state outside an input event or a node
 * event (a timer, say) calls `drawTyped` first.
 */
export function drawLater(view: EditorView, tr: Transaction): void {
  undrawn.set(view, tr)
}

/**
 * Dispatches every keystroke pushed ahead and not shown yet. Cheap when there is none. Never throws:
 * it runs ahead of input and of the node's events, which must reach their listeners whatever happens.
 */
export function drawTyped(): void {
  for (const [view, tr] of undrawn) {
    undrawn.delete(view)
    try {
      view.dispatch(tr)
    } catch (err) {
      // Only a change of the editor's state that bypassed its dispatch could do this: a bug, said loudly.
      console.error('Meshpad: a typed character could not be drawn', err)
    }
  }
}

/**
 * Makes every dispatch to `view` draw a keystroke it does not show yet first, so that a transaction
 * made in it starts from the state that holds the keystroke. (A transaction made earlier, from the
 * state before, could not be applied after it; none is: the keystroke is drawn before any input, node
 * event or timer that makes one: typing.ts.)
 */
export function drawTypingFirst(view: EditorView): void {
  const dispatch = view.dispatch.bind(view) as (...input: unknown[]) => void
  Object.defineProperty(view, 'dispatch', {
    value: (...input: unknown[]) => {
      drawTyped()
      dispatch(...input)
    },
  })
}

/** The editor is going: a keystroke it did not show is dropped (its ops left; its replica holds them). */
export function forgetTyped(view: EditorView): void {
  undrawn.delete(view)
}

/**
 * Stops the editor taking edits, for good: its replica is being replaced (the document opens again).
 * A keystroke typed until the new editor comes would go to the old replica after the node took the
 * state for the new one, and the node does not send a window its own ops back: the new editor would
 * lack it. Highest precedence, so that it wins over the editor's own read-only setting.
 */
export function freeze(view: EditorView): void {
  view.dispatch({ effects: StateEffect.appendConfig.of(frozen) })
}

/** What `freeze` adds to an editor's configuration. */
export const frozen: Extension = Prec.highest([EditorState.readOnly.of(true), EditorView.editable.of(false)])

/** Whether the editor's text is the replica's (a check for tests and debugging). */
export const inSync = (state: EditorState, doc: TextDoc): boolean => state.doc.toString() === doc.toString()

class SyncPlugin {
  constructor(private readonly view: EditorView) {}

  update(update: ViewUpdate): void {
    const config = this.view.state.facet(syncConfig)
    if (!config) return
    for (const tr of update.transactions) {
      if (!tr.docChanged || tr.annotation(remoteOrigin) || tr.annotation(pushedAhead)) continue
      for (const batch of localBatches(config.doc, tr.changes)) config.push(batch)
    }
  }
}

/**
 * The binding: start the editor with the replica's text (`doc.toString()`) and this extension. Only
 * '\n' separates lines, so that a '\r' stays one character in both CodeMirror and the replica and
 * offsets agree (CodeMirror would otherwise count "\r\n" as one line break of length 1).
 */
export function textDocSync(config: SyncConfig): Extension {
  return [EditorState.lineSeparator.of('\n'), syncConfig.of(config), ViewPlugin.fromClass(SyncPlugin)]
}
