/**
 * Meshpad's CRDT as it ships: src/shared/crdt bundled into one ES module, as electron-vite bundles the
 * app, rather than loaded file by file through tsx's CommonJS transform, which turns every use of an
 * imported binding into a getter call and would be measured along with the CRDT. It compresses and
 * inflates through Node's zlib, as in the app's main process (src/main/storage/native-zlib.ts).
 */
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildSync } from 'esbuild'
import { nativeBrotli, nativeInflate } from '../src/main/storage/native-zlib'

type CrdtModule = typeof import('../src/shared/crdt')

const outfile = path.join(tmpdir(), `meshpad-bench-crdt-${process.pid}.mjs`)
buildSync({
  entryPoints: [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/shared/crdt/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  outfile,
  logLevel: 'silent',
})

process.once('exit', () => rmSync(outfile, { force: true }))

const shipped = (await import(pathToFileURL(outfile).href)) as CrdtModule
// As the app's main process, which holds the documents, has it (src/main/storage/durable-doc.ts).
shipped.useInflate(nativeInflate)
shipped.useBrotli(nativeBrotli)
export const { TextDoc } = shipped
export type TextDoc = InstanceType<CrdtModule['TextDoc']>
