/**
 * "While you were away" (src/renderer/src/collab/away.ts): what came in catch-ups is highlighted, and
 * counted in places as a reader sees them: stretches that touch are one place.
 */
import { EditorState } from '@codemirror/state'
import { expect, it } from 'vitest'
import { awayHighlights, awayRanges, catchUpChange } from '../../src/renderer/src/collab/away'

const caughtUp = (state: EditorState, from: number, insert: string): EditorState =>
  state.update({ changes: { from, insert }, annotations: catchUpChange.of(true) }).state

it('text that arrived in two catch-up batches side by side is one place; apart, two', () => {
  let state = EditorState.create({ doc: 'Shared text.\n', extensions: awayHighlights() })
  state = caughtUp(state, 12, ' (bob while')
  state = caughtUp(state, 23, ' carol was away)')
  expect(awayRanges({ state })).toEqual([{ from: 12, to: 39 }])
  state = caughtUp(state, 0, 'Bob: ')
  expect(awayRanges({ state })).toEqual([
    { from: 0, to: 5 },
    { from: 17, to: 44 },
  ])
  // A local edit is not time away.
  state = state.update({ changes: { from: 5, insert: 'x' } }).state
  expect(awayRanges({ state })).toHaveLength(2)
})
