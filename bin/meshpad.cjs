#!/usr/bin/env node
// The `meshpad` command: runs the TypeScript CLI through tsx, so it works right after `npm install`.
require('tsx/cjs')
require('../src/main/cli/main.ts')
