/**
 * A bench's child script bundled into one ES module, as electron-vite bundles the app and the `meshpad`
 * command, rather than run through tsx: tsx's transform keeps every function's name with a `__name`
 * call each time a closure is made and turns every imported binding into a getter, and a child run
 * that way is measured with all of that (the mesh: ~10% more CPU per keystroke). Packages stay
 * imports, so the module is written under out/ (in the checkout, where node_modules resolves) and
 * removed when this process exits.
 */
import { mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Bundles `entry` (a path under the checkout) and returns the module's path. */
export function bundled(entry: string): string {
  const dir = path.join(root, 'out', 'bench')
  mkdirSync(dir, { recursive: true })
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}-${process.pid}.mjs`)
  buildSync({
    entryPoints: [path.resolve(root, entry)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  })
  process.once('exit', () => rmSync(outfile, { force: true }))
  return outfile
}
