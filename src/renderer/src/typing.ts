/**
 * Typing taken at `beforeinput`. CodeMirror lets the browser put a typed character into the DOM and
 * reads it back from a MutationObserver; in Chromium that edit (layout included) takes about a
 * millisecond, all of it before the character reaches the document, so before its ops leave for the
 * other windows. Here a plain insertion becomes the same transaction CodeMirror would make (through
 * its input handlers, so closing brackets and completion behave as before) and the browser's edit is
 * cancelled: the ops leave first, CodeMirror draws the character after.
 *
 * Only the plain case: text typed at one selection, not composed (IME, dead keys), into an editable
 * editor. Everything else (composition, spelling replacements, several cursors, deletions, pastes)
 * stays CodeMirror's.
 */
import type { Extension } from '@codemirror/state'
import { EditorView } from '@codemirror/view'

export const typeAhead = (): Extension =>
  EditorView.domEventHandlers({
    beforeinput(event, view) {
      const text = event.data
      if (event.inputType !== 'insertText' || event.isComposing || view.composing || !text) return false
      if (view.state.readOnly || !view.state.facet(EditorView.editable)) return false
      if (view.state.selection.ranges.length !== 1 || /[\r\n]/.test(text)) return false
      const { from, to } = view.state.selection.main
      const typed = () =>
        view.state.update({
          changes: { from, to, insert: text },
          selection: { anchor: from + text.length },
          userEvent: 'input.type',
          scrollIntoView: true,
        })
      event.preventDefault()
      const handled = view.state.facet(EditorView.inputHandler).some((h) => h(view, from, to, text, typed))
      if (!handled) view.dispatch(typed())
      return true
    },
  })
