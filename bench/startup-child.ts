/**
 * One measurement of bench/startup.ts in a fresh process: `open <docs dir> <doc id>` opens the document
 * and reads its text, then prints `ms <milliseconds>`.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DurableDoc } from '../src/main/storage/durable-doc'
import { FileStore } from '../src/main/storage/file-store'

/** Bytes in a folder, recursively. */
export function du(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((sum, name) => sum + du(join(path, name)), 0)
}

async function open(dir: string, docId: string): Promise<void> {
  const started = performance.now()
  const store = new FileStore({ dir })
  const doc = await DurableDoc.open(store, docId)
  const length = doc.text.toString().length
  const ms = performance.now() - started
  console.log(`length ${length}`)
  console.log(`ms ${ms.toFixed(1)}`)
  // No close: closing may compact, which would change the fixture the next run measures.
  process.exit(0)
}

if (process.argv[2] === 'open') {
  open(process.argv[3]!, process.argv[4]!).catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
