/**
 * Typing taken at `beforeinput`. CodeMirror lets the browser put a typed character into the DOM and
 * reads it back from a MutationObserver; in Chromium that edit (layout included) takes about a
 * millisecond, all of it before the character reaches the document, so before its ops leave for the
 * other windows. Here a plain insertion becomes the same transaction CodeMirror would make (through
 * its input handlers, so closing brackets and completion behave as before) and the browser's edit is
 * cancelled: the ops leave first (made from the transaction before CodeMirror computes its state:
 * binding/sync.ts, `pushAhead`), and the editor draws the character after this task.
 *
 * Why not in the same task: Chromium sent the page's WebSocket frame only as the task that sent it
 * ended (a trace shows the renderer's IO thread writing it ~2.3 ms after the send, as the input task
 * ended), and drawn in that task the editor's update (its DOM, the DOM selection and the layout that
 * setting it forces: 1-3 ms on a 2-core machine) held the keystroke back for a third of the keys.
 * Drawn after, window → window p50 went from 5.0-6.2 ms to 4.4-5.7 ms, alternating, 12 of 13 runs
 * better (bench: windows). The character still appears in the frame it would have: it is drawn at
 * the next animation frame (Chromium runs other tasks only after the frame that follows an input), or
 * at the next input (its key up) if that comes first, and CodeMirror's measure is asked for after the
 * draw's frame callback, so the cursor moves in the same frame.
 *
 * Until it is drawn, the editor shows one keystroke less than its replica holds, so anything that reads
 * or changes the editor draws it first (`drawTyped`): a user's input anywhere in the window (a
 * capture listener on the window, ahead of CodeMirror's and React's), every dispatch to the editor
 * and every batch from the node (binding/sync.ts), the node's events (bridge.ts) and the timers that
 * read the editor (presence-sync.ts).
 *
 * Only the plain case: text typed at one selection, not composed (IME, dead keys), into an editable
 * editor. Everything else (composition, spelling replacements, several cursors, deletions, pastes)
 * stays CodeMirror's.
 */
import type { Extension, Transaction, TransactionSpec } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { drawLater, drawTyped, pushAhead, pushedAhead } from './binding/sync'

/** A user's input that reads or changes an editor (or the app around it): the keystroke is drawn first. */
const INPUT_EVENTS = [
  'keydown',
  'keypress',
  'keyup',
  'beforeinput',
  'input',
  'compositionstart',
  'mousedown',
  'mouseup',
  'pointerdown',
  'pointerup',
  'touchstart',
  'focusin',
  'focusout',
  'paste',
  'cut',
  'copy',
  'dragstart',
  'drop',
  'contextmenu',
  'selectionchange',
] as const

let listening = false
const channel = typeof MessageChannel === 'undefined' ? null : new MessageChannel()

function listen(): void {
  if (listening || typeof window === 'undefined') return
  listening = true
  for (const type of INPUT_EVENTS) window.addEventListener(type, drawTyped, true)
  // A frame's callbacks run in the order they were asked for, and CodeMirror asks for its measure as it
  // handles a keydown (it flushes its DOM observer), before the key's beforeinput: the draw's callback
  // is asked for here, ahead of it, so the cursor is measured after the draw, in the same frame.
  window.addEventListener('keydown', () => requestAnimationFrame(drawTyped), true)
  if (channel) channel.port1.onmessage = drawTyped
}

/**
 * The next animation frame, or the next task if that comes first (no frame is due: a hidden window).
 * After an input Chromium runs the frame before other tasks, so the frame draws it, as it would have.
 */
function drawSoon(): void {
  if (channel) channel.port2.postMessage(null)
  else setTimeout(drawTyped, 0)
  requestAnimationFrame(drawTyped)
}

export const typeAhead = (): Extension => {
  listen()
  return EditorView.domEventHandlers({
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
        // The plain case, most keystrokes: the ops leave before CodeMirror even computes the new state,
        // and the editor draws it once this task has ended.
        const tr = view.state.update(spec, { annotations: pushedAhead.of(true) })
        pushAhead(view, tr)
        drawLater(view, tr)
        drawSoon()
        // Asked for after the draw's animation frame callback, so CodeMirror measures in the same frame:
        // the cursor and the scroll move with the character, not a frame after it.
        view.requestMeasure()
      }
      return true
    },
  })
}
