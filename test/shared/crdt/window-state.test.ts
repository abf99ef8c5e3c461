/**
 * A window opens a document whose history is long against its text from its snapshot (window-state.ts),
 * as the main process stores it (brotli), and reads it with no brotli, as a renderer has none: the same
 * text, version and history, and edits go both ways. Short histories and a file's import open from
 * every op, as before.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { nativeBrotli } from '../../../src/main/storage/native-zlib'
import {
  opensFromSnapshot,
  openWindowState,
  packWindowState,
  TextDoc,
  useBrotli,
} from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'

afterEach(() => useBrotli(null))

const clock = (): number => 1_700_000_000_000

/** `sessions` sessions of `edits` random edits, each saved and opened again as a store does. */
function aged(sessions: number, edits: number): TextDoc {
  const random = seededRandom(21)
  let doc = new TextDoc('node', { clock })
  for (let s = 0; s < sessions; s++) {
    for (let i = 0; i < edits; i++) {
      const len = doc.length
      // Half of them delete a few characters: most of what is typed goes, as in a long-edited document.
      if (i % 2 === 1 && len > 10)
        doc.localDelete(Math.floor(random() * (len - 6)), 1 + Math.floor(random() * 6))
      else doc.localInsert(Math.floor(random() * (len + 1)), 'xyz'.slice(0, 1 + (i % 3)))
    }
    const { state, history } = doc.saveStateApart()
    doc = TextDoc.loadState(state, 'node', { clock, history })
  }
  return doc
}

describe('a window’s snapshot', () => {
  it('opens without brotli, with the same text, version and history, and edits go both ways', () => {
    useBrotli(nativeBrotli)
    const node = aged(12, 3_000)
    expect(opensFromSnapshot(node)).toBe(true)
    const bytes = packWindowState(node)
    useBrotli(null) // a renderer's
    const window = openWindowState(bytes, 'window')
    expect(window.historyEncoded()).toBe(true) // nothing read the history to open it
    expect(window.toString()).toBe(node.toString())
    expect(window.version()).toEqual(node.version())

    // Edits both ways (the node still reads brotli).
    useBrotli(nativeBrotli)
    node.applyRemote(window.localInsert(3, 'from the window'))
    window.applyRemote(node.localDelete(0, 2))
    expect(window.toString()).toBe(node.toString())
    // The history reads in the window with no brotli, and is the node's.
    const nodeHistory = node.history().map(({ time: _time, ...entry }) => entry)
    useBrotli(null)
    expect(window.history().map(({ time: _time, ...entry }) => entry)).toEqual(nodeHistory)
  })

  it('leaves nothing behind for the next save: it writes what it would have written without it', () => {
    useBrotli(nativeBrotli)
    const saved = aged(12, 3_000).saveStateApart()
    const twins = [0, 1].map(() => TextDoc.loadState(saved.state, 'node', { clock, history: saved.history }))
    for (const doc of twins) for (let i = 0; i < 50; i++) doc.localInsert((i * 7) % (doc.length + 1), 'e') // ops since the save
    packWindowState(twins[0]!)
    const [a, b] = twins.map((doc) => doc.saveStateApart())
    expect(a).toEqual(b)
  })

  it('is not used for a short history, one already read, or a file’s import', () => {
    const short = aged(2, 300)
    expect(opensFromSnapshot(short)).toBe(false)
    const long = aged(12, 3_000)
    long.history()
    expect(opensFromSnapshot(long)).toBe(false) // read already: every op costs no decoding now
    const file = new TextDoc('node', { clock })
    file.localInsert(0, 'x'.repeat(500_000))
    const { state, history } = file.saveStateApart()
    expect(opensFromSnapshot(TextDoc.loadState(state, 'node', { clock, history }))).toBe(false)
  })
})
