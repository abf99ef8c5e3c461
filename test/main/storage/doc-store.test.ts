import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileStore } from '../../../src/main/storage/file-store'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import { describeDocStore } from './doc-store-conformance'

describeDocStore('MemoryStore', async () => {
  const backing: MemoryBacking = new Map()
  return { open: () => new MemoryStore(backing), dispose: async () => undefined }
})

describeDocStore('FileStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshpad-store-'))
  return {
    open: () => new FileStore({ dir: join(dir, 'docs') }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  }
})
