/**
 * `npm run bench -- startup`: how long a person waits for a document or a peer, whatever the age of the
 * data (issue 16). Fixtures are data dirs written through DurableDoc, as edits would write them:
 *   - one document of ~50 KB whose history holds ~100× that in deleted text, made over 20 process starts;
 *   - that document with 9,999 more edits never compacted (the most a log holds before a compaction is
 *     due, as after a crash: a clean close compacts from 1,000 records), which the open replays;
 *   - the same text with no history (one import);
 *   - issue 14's pair: a document of ~50 KB with 10× its size in deleted history (made over 3 starts),
 *     and its text with no history;
 *   - 100 documents with a few thousand edits each, linked to no file.
 * Each measurement runs in a fresh process (bench/startup-child.ts), alternating fixtures, median of RUNS
 * with the spread; the open is timed from the call to the resolved DurableDoc (text read included), the
 * peer from spawn to the CLI's prompt line.
 */
import { spawn } from 'node:child_process'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DurableDoc, type DurableDocOptions } from '../src/main/storage/durable-doc'
import { FileStore } from '../src/main/storage/file-store'
import { PeerNode } from '../src/main/node/peer-node'
import { makeText } from './storage'
import { median, spread } from './stats'
import type { BenchSuite } from './suites'

const RUNS = 5
const DOC_ID = 'a'.repeat(32)
const TARGET_OPEN_MS = 1000
const TARGET_PEER_MS = 2000
/** Issue 14: a document with 10× its size in deleted history opens in under 2× the time of one without. */
const TENFOLD_RATIO = 2
/** The most records a log holds before a compaction is due (DurableDoc's default is 10,000). */
const CRASH_RECORDS = 9999
const REPO = resolve(import.meta.dirname, '..')
const CHILD = join(REPO, 'bench', 'startup-child.ts')

/** A seeded generator of integers below `n` (a linear congruential one: fixtures the same every run). */
function randomBelow(seed: number): (n: number) => number {
  let s = seed
  return (n) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s % n)
}

/** A deterministic edit stream that keeps the text near `size` while its history grows. */
async function writeHistory(
  dir: string,
  sessions: number,
  editsPerSession: number,
  size: number,
  options: DurableDocOptions = {},
): Promise<void> {
  const next = randomBelow(12345)
  const words = makeText(8000, 7)
  for (let session = 0; session < sessions; session++) {
    const store = new FileStore({ dir })
    const doc = await DurableDoc.open(store, DOC_ID, options)
    const writes: Promise<unknown>[] = []
    for (let i = 0; i < editsPerSession; i++) {
      const length = doc.text.length
      if (length > size || (length > 100 && next(100) < 45)) {
        const at = next(length)
        writes.push(doc.delete(at, Math.min(length - at, 1 + next(length > size ? 4000 : 300))))
      } else {
        const n = next(100) < 90 ? 1 + next(60) : 1 + next(5000)
        const from = next(words.length - n)
        writes.push(doc.insert(next(length + 1), words.slice(from, from + n)))
      }
    }
    await Promise.all(writes)
    await doc.close()
    await store.close()
  }
}

/** A ~`size` text, then replaced piece by piece (over `sessions` starts) until 10× `size` is deleted. */
async function tenfoldHistory(dir: string, size: number, sessions = 3): Promise<void> {
  const next = randomBelow(777)
  const words = makeText(size * 2, 11)
  await importOnce(dir, words.slice(0, size))
  let deleted = 0
  for (let session = 0; session < sessions; session++) {
    const store = new FileStore({ dir })
    const doc = await DurableDoc.open(store, DOC_ID)
    while (deleted < ((session + 1) * 10 * size) / sessions) {
      const n = 1 + next(400)
      const from = next(words.length - n)
      await doc.insert(next(doc.text.length + 1), words.slice(from, from + n))
      const cut = Math.min(n, doc.text.length - 1)
      await doc.delete(next(doc.text.length - cut), cut)
      deleted += cut
    }
    await doc.close()
    await store.close()
  }
}

async function importOnce(dir: string, text: string): Promise<void> {
  const store = new FileStore({ dir })
  const doc = await DurableDoc.open(store, DOC_ID)
  await doc.insert(0, text)
  await doc.close()
  await store.close()
}

async function textOf(dir: string): Promise<string> {
  const store = new FileStore({ dir })
  const doc = await DurableDoc.open(store, DOC_ID)
  const text = doc.text.toString()
  await doc.close()
  await store.close()
  return text
}

/** A data dir with `count` documents, as a peer node makes them (members, keys), each with some edits. */
async function manyDocs(dataDir: string, count: number, edits: number): Promise<void> {
  const node = await PeerNode.start({ dataDir, name: 'bench', host: '127.0.0.1', antiEntropyMs: 0 })
  const text = makeText(20_000, 3)
  for (let d = 0; d < count; d++) {
    const doc = await node.workspace.createDoc(`doc ${d}`)
    await doc.insert(0, text.slice(0, 2000))
    const writes: Promise<unknown>[] = []
    for (let i = 0; i < edits; i++) {
      const at = (i * 7919 + d) % Math.max(1, doc.text.length)
      writes.push(
        i % 3 === 2 && doc.text.length > 10 ? doc.delete(at, 1) : doc.insert(at, text[i % text.length]!),
      )
    }
    await Promise.all(writes)
  }
  await node.close()
}

/** Runs the child once; resolves with the milliseconds it reports. */
function timeChild(args: string[]): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: REPO })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('exit', (code) => {
      const ms = /^ms (\d+(\.\d+)?)$/m.exec(out)
      if (code === 0 && ms) resolveRun(Number(ms[1]))
      else reject(new Error(`startup child ${args.join(' ')} exited ${code}: ${out}\n${err}`))
    })
  })
}

/** Spawn → the CLI's prompt line, for a peer on `dataDir` with its file `file`. */
function timePeer(dataDir: string, file: string): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const started = performance.now()
    const child = spawn(
      process.execPath,
      [
        join(REPO, 'bin', 'meshpad.cjs'),
        'peer',
        '--data-dir',
        dataDir,
        '--file',
        file,
        '--no-discovery',
        '--host',
        '127.0.0.1',
      ],
      { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      if (/listening on port \d+/.test(out)) {
        const ms = performance.now() - started
        child.stdin.end('exit\n')
        child.on('exit', () => resolveRun(ms))
      }
    })
    child.on('exit', (code) => {
      if (!/listening on port/.test(out)) reject(new Error(`peer exited ${code} before its prompt: ${out}`))
    })
  })
}

async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'meshpad-bench-startup-'))
  try {
    const aged = join(root, 'aged')
    const fresh = join(root, 'fresh')
    const built = performance.now()
    await writeHistory(aged, 20, 5000, 50_000)
    const crashed = join(root, 'crashed')
    await cp(aged, crashed, { recursive: true })
    const never = { compactAfterRecords: Infinity, compactOnCloseAfterRecords: Infinity }
    await writeHistory(crashed, 1, CRASH_RECORDS, 50_000, never)
    const check = new FileStore({ dir: crashed })
    const records = (await check.load(DOC_ID))?.records.length
    await check.close()
    if (records !== CRASH_RECORDS) throw new Error(`the crashed fixture's log holds ${records} records`)
    const text = await textOf(aged)
    await importOnce(fresh, text)
    const tenfold = join(root, 'tenfold')
    const tenfoldFresh = join(root, 'tenfold-fresh')
    await tenfoldHistory(tenfold, 50_000)
    await importOnce(tenfoldFresh, await textOf(tenfold))
    const peerDir = join(root, 'peer')
    await manyDocs(peerDir, 100, 2000)
    const file = join(root, 'notes.txt')
    await writeFile(file, 'notes\n')
    console.log(`fixtures built in ${((performance.now() - built) / 1000).toFixed(1)} s`)
    const { du } = await import('./startup-child')
    console.log(
      `aged document: ${text.length} chars, data ${(du(aged) / 1e6).toFixed(1)} MB ` +
        `(${(du(aged) / text.length).toFixed(0)}× the text); fresh: ${(du(fresh) / 1e6).toFixed(2)} MB; ` +
        `100-document data dir: ${(du(peerDir) / 1e6).toFixed(1)} MB`,
    )

    const agedMs: number[] = []
    const crashedMs: number[] = []
    const freshMs: number[] = []
    const peerMs: number[] = []
    const tenfoldMs: number[] = []
    const tenfoldFreshMs: number[] = []
    for (let i = 0; i < RUNS; i++) {
      agedMs.push(await timeChild(['open', aged, DOC_ID]))
      crashedMs.push(await timeChild(['open', crashed, DOC_ID]))
      freshMs.push(await timeChild(['open', fresh, DOC_ID]))
      tenfoldMs.push(await timeChild(['open', tenfold, DOC_ID]))
      tenfoldFreshMs.push(await timeChild(['open', tenfoldFresh, DOC_ID]))
      peerMs.push(await timePeer(peerDir, file))
    }
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT MET')
    console.log(`| fresh process, median of ${RUNS} (min–max) | ms | goal |`)
    console.log('|---|---|---|')
    console.log(
      `| open the aged document | ${median(agedMs).toFixed(0)} (${spread(agedMs)}) | < ${TARGET_OPEN_MS}: ${verdict(median(agedMs) < TARGET_OPEN_MS)} |`,
    )
    console.log(
      `| open it with ${CRASH_RECORDS.toLocaleString('en-US')} more edits in its log (as after a crash) | ${median(crashedMs).toFixed(0)} (${spread(crashedMs)}) | < ${TARGET_OPEN_MS}: ${verdict(median(crashedMs) < TARGET_OPEN_MS)} |`,
    )
    console.log(
      `| open the same text with no history | ${median(freshMs).toFixed(0)} (${spread(freshMs)}) | |`,
    )
    console.log(`| aged / fresh | ${(median(agedMs) / median(freshMs)).toFixed(1)}× | |`)
    const tenfoldRatio = median(tenfoldMs) / median(tenfoldFreshMs)
    console.log(
      `| open a ~50 KB document with 10× its size in deleted history | ${median(tenfoldMs).toFixed(0)} (${spread(tenfoldMs)}) | |`,
    )
    console.log(
      `| open its text with no history | ${median(tenfoldFreshMs).toFixed(0)} (${spread(tenfoldFreshMs)}) | |`,
    )
    console.log(
      `| 10× history / none | ${tenfoldRatio.toFixed(2)}× | < ${TENFOLD_RATIO}×: ${verdict(tenfoldRatio < TENFOLD_RATIO)} |`,
    )
    console.log(
      `| peer with 100 documents: spawn → prompt | ${median(peerMs).toFixed(0)} (${spread(peerMs)}) | < ${TARGET_PEER_MS}: ${verdict(median(peerMs) < TARGET_PEER_MS)} |`,
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

export const startupSuite: BenchSuite = {
  name: 'startup',
  description: 'opening an old document and starting a peer with 100 documents, each in a fresh process',
  run,
}
