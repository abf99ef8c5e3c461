/**
 * Typing taken at `beforeinput`. CodeMirror lets the browser put a typed character into the DOM and
 * reads it back from a MutationObserver; in Chromium that edit (layout included) takes about a
 * millisecond, all of it before the character reaches the document, so before its ops leave for the
 * other windows. Here a plain insertion becomes the same transaction CodeMirror would make (through
 * its input handlers, so closing brackets and completion behave as before) and the browser's edit is
 * cancelled: the ops leave first (made from the transaction before CodeMirror computes its state:
 * binding/sync.ts, `pushAhead`), CodeMirror draws the character after.
 *
 * Only the plain case: text typed at one selection, not composed (IME, dead keys), into an editable
 * editor. Everything else (composition, spelling replacements, several cursors, deletions, pastes)
 * stays CodeMirror's.
 */
import type { Extension, Transaction, TransactionSpec } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { pushAhead, pushedAhead } from './binding/sync'

export const typeAhead = (): Extension =>
  EditorView.domEventHandlers({
    beforeinput(event, view) {
      const text = event.data
      if (event.inputType !== 'insertText' || event.isComposing || view.composing || !text) return false
      if (view.state.readOnly || !view.state.facet(EditorView.editable)) return false
      if (view.state.selection.ranges.length !== 1 || /[\r\n]/.test(text)) return false
      const { from, to } = view.state.selection.main
      const spec: TransactionSpec = {
        changes: { from, to, insert: text },
        selection: { anchor: from + text.length },
        userEvent: 'input.type',
        scrollIntoView: true,
      }
      const typed = (): Transaction => view.state.update(spec)
      event.preventDefault()
      const handled = view.state.facet(EditorView.inputHandler).some((h) => h(view, from, to, text, typed))
      if (!handled) {
        // The plain case, most keystrokes: the ops leave before CodeMirror even computes the new state.
        const tr = view.state.update(spec, { annotations: pushedAhead.of(true) })
        pushAhead(view, tr)
        view.dispatch(tr)
      }
      return true
    },
  })
