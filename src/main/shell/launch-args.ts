/**
 * What a launch asks Meshpad to open: the files on its command line (a file manager's "Open with",
 * a file association on Windows and Linux, `meshpad-app notes.md` in a terminal) and `meshpad://`
 * links. The same parsing serves the first launch and every later one, whose argv the single-instance
 * lock hands to the running app with the later launch's working directory.
 */
import { isAbsolute, resolve } from 'node:path'

export interface LaunchRequest {
  readonly files: string[]
  readonly links: string[]
}

export const LINK_SCHEME = 'meshpad:'

/**
 * `argv` as Electron gives it: the executable first; when run unpackaged (`electron .`) the app's
 * path next (`appPathArgs` = 1). Chromium and Electron switches (`--flag`, `--flag=value`) are skipped.
 * A lone `--` ends switches, so a file named like a switch can still be opened.
 */
export function parseLaunchArgs(argv: readonly string[], cwd: string, appPathArgs: number): LaunchRequest {
  const files: string[] = []
  const links: string[] = []
  let switches = true
  for (const arg of argv.slice(1 + appPathArgs)) {
    if (switches && arg === '--') {
      switches = false
      continue
    }
    if (switches && arg.startsWith('-')) continue
    if (arg === '') continue
    if (arg.toLowerCase().startsWith(LINK_SCHEME)) links.push(arg)
    else files.push(isAbsolute(arg) ? arg : resolve(cwd, arg))
  }
  return { files, links }
}

/** The value of `--name=value` in `argv` (the last one given), or undefined. */
export function switchValue(argv: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`
  const found = argv.filter((a) => a.startsWith(prefix)).at(-1)
  return found?.slice(prefix.length)
}
