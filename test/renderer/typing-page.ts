/**
 * The page of typing.browser.test.ts (bundled by the test with esbuild): an editor as Editor.tsx makes
 * it (basicSetup, textDocSync, typeAhead, drawTypingFirst) bound to a TextDoc replica, and a peer's
 * replica whose edits arrive as the node's batches do (applyRemoteBatch).
 */
import { basicSetup } from 'codemirror'
import { EditorState, StateEffect } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { TextDoc } from '../../src/shared/crdt'
import { applyRemoteBatch, drawTypingFirst, textDocSync } from '../../src/renderer/src/binding/sync'
import { typeAhead } from '../../src/renderer/src/typing'

export interface TypingState {
  readonly view: string
  readonly replica: string
  readonly peer: string
  /** For each batch pushed: whether the editor showed the text it makes when it was pushed. */
  readonly shownWhenPushed: boolean[]
  /** For each `beforeinput` event, once its handlers ran: whether the editor showed the replica's text. */
  readonly shownAfterInput: boolean[]
}

const replica = new TextDoc('ui-typing')
const peer = new TextDoc('peer-typing')
const shownWhenPushed: boolean[] = []
const view = new EditorView({
  parent: document.body,
  state: EditorState.create({
    doc: '',
    extensions: [
      textDocSync({
        doc: replica,
        push: (batch) => {
          shownWhenPushed.push(view.state.doc.toString() === replica.toString())
          peer.applyRemote(batch)
        },
      }),
      typeAhead(),
      basicSetup,
    ],
  }),
})
drawTypingFirst(view)
view.focus()
const shownAfterInput: boolean[] = []
// On the way back up (bubbling), after the editor's own handlers, still in the event's task.
window.addEventListener('beforeinput', () =>
  shownAfterInput.push(view.state.doc.toString() === replica.toString()),
)

const state = (): TypingState => ({
  view: view.state.doc.toString(),
  replica: replica.toString(),
  peer: peer.toString(),
  shownWhenPushed: [...shownWhenPushed],
  shownAfterInput: [...shownAfterInput],
})

/** The peer types `text` at `index` of its replica; the batch reaches the editor as the node's would. */
function peerTypes(index: number, text: string): TypingState {
  applyRemoteBatch(view, peer.localInsert(index, text))
  return state()
}

/**
 * A dispatch that reads nothing from the editor first, made while a keystroke may be waiting to be
 * drawn: a reconfiguration, as Editor.tsx makes when the theme or the language changes.
 */
function reconfigure(): TypingState {
  view.dispatch({
    effects: StateEffect.appendConfig.of(EditorView.editorAttributes.of({ 'data-test': '1' })),
  })
  return state()
}

/** Resolves after `frames` animation frames, with the state then. */
const afterFrames = (frames: number): Promise<TypingState> =>
  new Promise((resolve) => {
    const step = (left: number): void => {
      if (left === 0) resolve(state())
      else requestAnimationFrame(() => step(left - 1))
    }
    step(frames)
  })

/**
 * In the next animation frame, after the callbacks already asked for (the draw's, CodeMirror's
 * measure): where the drawn cursor is, and where the selection's head is in the text.
 */
const cursorInNextFrame = (): Promise<{ cursor: number; head: number }> =>
  new Promise((resolve) =>
    requestAnimationFrame(() => {
      const cursor = document.querySelector('.cm-cursor-primary')?.getBoundingClientRect().left ?? NaN
      const head = view.coordsAtPos(view.state.selection.main.head)?.left ?? NaN
      resolve({ cursor, head })
    }),
  )

const typing = { state, peerTypes, reconfigure, afterFrames, cursorInNextFrame }
/** What the test calls in the page, as `window.typing`. */
export type TypingPage = typeof typing

Object.assign(window, { typing })
