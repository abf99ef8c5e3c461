/**
 * The baseline for `npm run bench -- editor`: plain CodeMirror 6 with the extensions Meshpad's editor
 * starts from (basicSetup + lineWrapping) and no CRDT binding, holding the same text. The bench bundles
 * this file with esbuild and serves it with the text from a throwaway server on 127.0.0.1.
 */
import { basicSetup } from 'codemirror'
import { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'

async function main(): Promise<void> {
  const text = await (await fetch('doc.txt')).text()
  const view = new EditorView({
    parent: document.body,
    state: EditorState.create({ doc: text, extensions: [basicSetup, EditorView.lineWrapping] }),
  })
  view.focus()
  // The bench reads the text back from here, to check the typed characters arrived.
  Object.assign(window, { baselineView: view })
}

void main()
