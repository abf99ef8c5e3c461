/** A browser test's page script: `entry` and what it imports, bundled into one script (esbuild). */
import { buildSync, type BuildOptions } from 'esbuild'

export function bundlePage(entry: string, options: Pick<BuildOptions, 'jsx' | 'define'> = {}): string {
  const built = buildSync({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    ...options,
  })
  return built.outputFiles[0]!.text
}
