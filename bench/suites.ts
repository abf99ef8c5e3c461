import { crdtSuite } from './crdt'
import { editorSuite } from './editor'
import { historySuite } from './history'
import { meshSuite } from './mesh'
import { pathsSuite } from './paths'
import { startupSuite } from './startup'
import { storageSuite } from './storage'
import { syncSuite } from './sync'
import { windowsSuite } from './windows'
import { folderSuite } from './folder'

/** The benchmark suites that `npm run bench` runs, in order. Later work adds its suites here. */
export interface BenchSuite {
  readonly name: string
  readonly description: string
  run(): Promise<void>
}

export const suites: BenchSuite[] = [
  crdtSuite,
  storageSuite,
  startupSuite,
  historySuite,
  syncSuite,
  meshSuite,
  editorSuite,
  windowsSuite,
  pathsSuite,
  folderSuite,
]
