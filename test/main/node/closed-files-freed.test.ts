/**
 * The memory of file documents closed together is given back at once (src/main/node/memory-release.ts,
 * workspace.ts `RELEASE_AFTER_CLOSES`): a project's files close together after a share, a join or a
 * checkout, and a process otherwise at rest may not run a full collection for a minute or more. The
 * test holds only weak references to the closed documents and runs no collection itself: they must be
 * gone soon after the sweep that closed them, which also shows that nothing keeps a closed one alive.
 */
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { nodesOfEachTest, until } from './cluster'

const node = nodesOfEachTest()
const IDLE_MS = 30_000
const FILES = 24

describe('file documents closed together', () => {
  it('are collected soon after they close, with no collection asked for by the test', async () => {
    let t = Date.now()
    const ana = await node('ana', () => t, { fileIdleMs: IDLE_MS })
    const project = await ana.ws.createDoc('project')
    const refs: WeakRef<object>[] = []
    // In a function of its own: a loop's last `file` would stay in this frame, and so alive.
    const addFile = async (i: number): Promise<void> => {
      const [op] = await project.changeTree((tree) => tree.create(ROOT, `f${i}.md`, 'file').op)
      const file = await ana.ws.openFile(project, op!.node)
      await file.insert(0, `file ${i}\n`.repeat(2_000)) // some weight, as a source file has
      file.sealPending()
      refs.push(new WeakRef(file))
    }
    for (let i = 0; i < FILES; i++) await addFile(i)
    expect(ana.ws.filesOf(project.docId)).toHaveLength(FILES)
    for (let round = 0; round < 5 && ana.ws.filesOf(project.docId).length > 0; round++) {
      t += IDLE_MS
      ana.ws.syncAll()
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(ana.ws.filesOf(project.docId)).toEqual([])
    await until(
      'the closed file documents are collected',
      () => refs.every((r) => r.deref() === undefined),
      5000,
    )
  })
})
