/**
 * DocEvents (src/renderer/src/doc-events.ts) on a 'reset': the document was rebuilt on the version of
 * an equivocating device's replica its peers agree on, so the editor's replica no longer follows from
 * the node's ops. None goes to the old editor after it; the window opens the document again, and the
 * ops from that reply on go to the new editor once it binds.
 */
import { expect, it } from 'vitest'
import type { ApiEvent, MeshpadBridge } from '../../src/shared/api'
import { DocEvents } from '../../src/renderer/src/doc-events'

it('a reset unbinds the editor, asks the window to open the document again, and keeps ops for the next editor', () => {
  let emit: (event: ApiEvent) => void = () => undefined
  const bridge = {
    onEvent: (l: (event: ApiEvent) => void) => ((emit = l), () => undefined),
  } as unknown as MeshpadBridge
  const events = new DocEvents(bridge)
  const resets: string[] = []
  events.listen({
    status: () => undefined,
    error: () => undefined,
    command: () => undefined,
    open: () => undefined,
    reset: (id) => resets.push(id),
  })
  const old: Uint8Array[] = []
  events.bind('d1', { ops: (batch) => old.push(batch) })
  emit({ type: 'ops', docId: 'd1', batch: Uint8Array.of(1) })
  emit({ type: 'reset', docId: 'd1' })
  expect(resets).toEqual(['d1'])
  emit({ type: 'ops', docId: 'd1', batch: Uint8Array.of(2) }) // before the new state: in it already
  expect(old.map((b) => b[0])).toEqual([1])
  // The window's openDocument reply came: ops from now on are kept for the editor made from it.
  events.expect('d1')
  emit({ type: 'ops', docId: 'd1', batch: Uint8Array.of(3) })
  const fresh: Uint8Array[] = []
  events.bind('d1', { ops: (batch) => fresh.push(batch) })
  expect(fresh.map((b) => b[0])).toEqual([3])
  expect(old.map((b) => b[0])).toEqual([1])
})
