/**
 * Run with `node --require` by a bench's child that stands for a `meshpad` node, before its module
 * loads: it lowers V8's helper threads as the command does first thing (src/main/cli/helper-threads.ts),
 * while they are still the only threads but the main one (loading an ES module starts libuv's pool).
 */
import { lowerHelperThreads } from '../src/main/cli/helper-threads'

lowerHelperThreads()
