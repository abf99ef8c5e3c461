/**
 * The CodeMirror ↔ TextDoc binding's position mapping, under Node (EditorState needs no DOM):
 * multi-change transactions (multi-cursor typing, replacing several selections) must leave the replica
 * with exactly the editor's text, and remote changes must land where the replica says.
 */
import { Compartment, EditorSelection, EditorState, StateEffect } from '@codemirror/state'
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../src/shared/crdt'
import { EditorView } from '@codemirror/view'
import {
  changeSetOf,
  frozen,
  localBatches,
  pushAhead,
  pushedAhead,
  textDocSync,
} from '../../src/renderer/src/binding/sync'

function setup(text: string): { state: EditorState; doc: TextDoc; peer: TextDoc } {
  const doc = new TextDoc('ui')
  const peer = new TextDoc('peer')
  peer.applyRemote(doc.localInsert(0, text))
  // Multiple selections are off by default (basicSetup turns them on).
  const state = EditorState.create({ doc: text, extensions: EditorState.allowMultipleSelections.of(true) })
  return { state, doc, peer }
}

describe('binding: local transactions → replica', () => {
  it('maps a multi-cursor insert (every cursor types the same text)', () => {
    const { state, doc, peer } = setup('one\ntwo\nthree\n')
    const cursors = EditorSelection.create([0, 4, 8].map((p) => EditorSelection.cursor(p)))
    const withCursors = state.update({ selection: cursors }).state
    const typed = withCursors.update(withCursors.replaceSelection('> '))
    expect(typed.changes.length).toBe(state.doc.length)
    for (const batch of localBatches(doc, typed.changes)) peer.applyRemote(batch)
    expect(typed.state.doc.toString()).toBe('> one\n> two\n> three\n')
    expect(doc.toString()).toBe(typed.state.doc.toString())
    expect(peer.toString()).toBe(typed.state.doc.toString())
  })

  it('maps replacements of different lengths and deletions in one transaction', () => {
    const { state, doc } = setup('alpha beta gamma delta')
    const tr = state.update({
      changes: [
        { from: 0, to: 5, insert: 'A' }, // shorter
        { from: 6, to: 10, insert: 'BETA-BETA' }, // longer
        { from: 11, to: 17 }, // deletion
        { from: 22, insert: '!' }, // insert at the end
      ],
    })
    localBatches(doc, tr.changes)
    expect(doc.toString()).toBe(tr.state.doc.toString())
    expect(doc.toString()).toBe('A BETA-BETA delta!')
  })

  it('keeps \\r as a character so offsets agree with the replica', () => {
    const { doc } = setup('')
    const state = EditorState.create({ doc: '', extensions: EditorState.lineSeparator.of('\n') })
    const tr = state.update({ changes: { from: 0, insert: 'a\r\nb' } })
    localBatches(doc, tr.changes)
    expect(tr.state.doc.length).toBe(4)
    expect(doc.toString()).toBe('a\r\nb')
  })
})

describe('binding: replica changes → CodeMirror', () => {
  it('composes sequential TextChanges into one ChangeSet', () => {
    const { state, doc, peer } = setup('hello world')
    // The peer makes several edits; their batch, applied here, reports sequential changes.
    const batches = [
      peer.localInsert(11, '!'),
      peer.localDelete(0, 1),
      peer.localInsert(0, 'J'),
      peer.localInsert(5, ','),
    ]
    let current = state
    for (const batch of batches) {
      const changes = doc.applyRemote(batch)
      current = current.update({ changes: changeSetOf(changes, current.doc.length) }).state
    }
    expect(current.doc.toString()).toBe(peer.toString())
    expect(current.doc.toString()).toBe('Jello, world!')
  })

  it('applies a concurrent edit from a peer between local edits', () => {
    const { state, doc, peer } = setup('abc')
    const local = state.update({ changes: { from: 1, insert: 'X' } })
    localBatches(doc, local.changes)
    const remote = peer.localInsert(3, 'Y')
    const applied = local.state.update({
      changes: changeSetOf(doc.applyRemote(remote), local.state.doc.length),
    })
    expect(applied.state.doc.toString()).toBe('aXbcY')
    expect(applied.state.doc.toString()).toBe(doc.toString())
  })
})

describe('binding: a keystroke pushed ahead (typing.ts)', () => {
  it('sends the ops of a marked transaction once, before it is dispatched; an unmarked one is left to the plugin', () => {
    const doc = new TextDoc('ui')
    const peer = new TextDoc('peer')
    peer.applyRemote(doc.localInsert(0, 'ab'))
    const pushed: Uint8Array[] = []
    const state = EditorState.create({
      doc: 'ab',
      extensions: textDocSync({ doc, push: (b) => pushed.push(b) }),
    })
    // pushAhead reads only the view's state: the transaction is not dispatched here.
    const view = { state } as unknown as EditorView
    const spec = { changes: { from: 1, to: 2, insert: 'XY' }, selection: { anchor: 3 } }
    pushAhead(view, state.update(spec))
    expect(pushed).toHaveLength(0)
    const tr = state.update(spec, { annotations: pushedAhead.of(true) })
    pushAhead(view, tr)
    expect(pushed.length).toBeGreaterThan(0)
    for (const batch of pushed) peer.applyRemote(batch)
    expect(doc.toString()).toBe(tr.state.doc.toString())
    expect(peer.toString()).toBe('aXY')
  })
})

describe('binding: an editor whose replica is being replaced', () => {
  it('is frozen for good: read-only and not editable, whatever its own read-only setting says', () => {
    const readOnly = new Compartment()
    const state = EditorState.create({ extensions: readOnly.of(EditorState.readOnly.of(false)) })
    expect(state.readOnly).toBe(false)
    const after = state.update({ effects: StateEffect.appendConfig.of(frozen) }).state
    expect(after.readOnly).toBe(true)
    expect(after.facet(EditorView.editable)).toBe(false)
    // The editor's own setting, changed later (a role change), does not thaw it.
    const later = after.update({ effects: readOnly.reconfigure(EditorState.readOnly.of(false)) }).state
    expect(later.readOnly).toBe(true)
    expect(later.facet(EditorView.editable)).toBe(false)
  })
})
