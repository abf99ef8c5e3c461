// Run with `node --require` by a bench's child that stands for a `meshpad` node, before its module
// loads: V8's helper threads lowered as the command lowers them first thing (bin/helper-threads.cjs),
// while they are still the only threads but the main one (loading an ES module starts libuv's pool).
'use strict'
require('../bin/helper-threads.cjs').lowerHelperThreads()
