/**
 * The page of paste.browser.test.ts (bundled by the test with esbuild): a real EditorView bound to a
 * TextDoc replica with textDocSync, recording every batch the binding pushes.
 */
import { basicSetup } from 'codemirror'
import { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { TextDoc } from '../../src/shared/crdt'
import { textDocSync } from '../../src/renderer/src/binding/sync'

export interface PasteResult {
  /** The batch that made the replica's starting text (base64). */
  readonly base: string
  /** What the binding pushed for the paste transaction (base64 each). */
  readonly pushed: string[]
  readonly viewText: string
  readonly replicaText: string
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** Starts an editor on `start`, then inserts `paste` in its middle in one transaction. */
function pasteInto(start: string, paste: string): PasteResult {
  const replica = new TextDoc('ui-paste')
  const base = replica.localInsert(0, start)
  const pushed: Uint8Array[] = []
  const view = new EditorView({
    parent: document.body,
    state: EditorState.create({
      doc: replica.toString(),
      extensions: [
        basicSetup,
        EditorView.lineWrapping,
        textDocSync({ doc: replica, push: (b) => pushed.push(b) }),
      ],
    }),
  })
  view.dispatch({ changes: { from: start.length >> 1, insert: paste }, userEvent: 'input.paste' })
  const result = {
    base: toBase64(base),
    pushed: pushed.map(toBase64),
    viewText: view.state.doc.toString(),
    replicaText: replica.toString(),
  }
  view.destroy()
  return result
}

Object.assign(window, { pasteInto })
