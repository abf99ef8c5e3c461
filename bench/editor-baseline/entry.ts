/**
 * The baseline for `npm run bench -- editor`: plain CodeMirror 6 with the extensions Meshpad's editor
 * starts from (basicSetup + lineWrapping) and no CRDT binding. The bench bundles this file with esbuild
 * and serves it with the texts from a throwaway server on 127.0.0.1, then calls `baselineOpen(name)`:
 * the floor for opening a file is fetching its text from there and showing it.
 */
import { basicSetup } from 'codemirror'
import { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'

async function baselineOpen(name: string): Promise<void> {
  // The moment the page asks for the text: where the bench's clock starts (bench/editor-open.ts).
  Object.assign(window, { __askedAt: performance.now() })
  const text = await (await fetch(name)).text()
  const view = new EditorView({
    parent: document.body,
    state: EditorState.create({ doc: text, extensions: [basicSetup, EditorView.lineWrapping] }),
  })
  view.focus()
  // The bench reads the text back from here, to check the typed characters arrived.
  Object.assign(window, { baselineView: view })
}

Object.assign(window, { baselineOpen })
