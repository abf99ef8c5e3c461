#!/usr/bin/env node
// The `meshpad` command. Runs the built CLI (out/main/cli.js, made by `npm run build`) when no source
// file is newer than it: it starts without compiling TypeScript, and without the wrapper tsx puts on
// every function (a property per closure: ~29 MB in a 2,000-file project's peer). Otherwise it runs the
// sources through tsx, so that it works right after `npm install` and always runs the code as it is.

// First, before anything starts libuv's pool: V8's helper threads at the lowest priority (helper-threads.cjs).
require('./helper-threads.cjs').lowerHelperThreads()
const { existsSync, readdirSync, statSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')
const built = join(root, 'out', 'main', 'cli.js')

/** Whether some file under `dir` was modified after `time` (ms since the epoch). */
function newerUnder(dir, time) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory() ? newerUnder(path, time) : statSync(path).mtimeMs > time) return true
  }
  return false
}

const sources = join(root, 'src')
const useBuilt =
  process.env.MESHPAD_FROM_SOURCE !== '1' &&
  existsSync(built) &&
  !(existsSync(sources) && newerUnder(sources, statSync(built).mtimeMs))
if (useBuilt) {
  require(built)
} else {
  require('tsx/cjs')
  require('../src/main/cli/main.ts')
}
