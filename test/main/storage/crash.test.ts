/**
 * Crash test: a child process edits a document continuously and is killed with SIGKILL at random moments.
 * Every reopen must succeed, hold every edit the child reported durable, and show exactly the text after
 * some prefix of the edit sequence. 20 kills here; for the long run:
 *   MESHPAD_CRASH_KILLS=200 npx vitest run test/main/storage/crash.test.ts
 * (MESHPAD_CRASH_SEED picks another sequence and other kill moments.)
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { FileStore } from '../../../src/main/storage/file-store'
import { applyEdit, editFor } from './edit-sequence'

const KILLS = Number(process.env.MESHPAD_CRASH_KILLS ?? 20)
const SEED = Number(process.env.MESHPAD_CRASH_SEED ?? 20251121)
const CHILD = join(import.meta.dirname, 'crash-child.ts')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-crash-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the child from edit `start`, kills it `delayMs` after its first durable report; the last edit it reported. */
function runAndKill(start: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(SEED), String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let last = start - 1
    let buffered = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        if (line === 'ready') continue
        const n = Number(line)
        if (n !== last + 1) reject(new Error(`child reported edit ${line} after ${last}`))
        last = n
        timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (signal === 'SIGKILL') resolve(last)
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
}

it(
  `survives ${KILLS} SIGKILLs with every durable edit and a prefix of the edit sequence`,
  { timeout: KILLS * 5_000 },
  async () => {
    let rnd = SEED
    const nextDelay = (): number => {
      rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0
      return rnd % 60
    }
    let applied = 0 // edits in the document as last reopened
    let text = ''
    for (let kill = 0; kill < KILLS; kill++) {
      const lastReported = await runAndKill(applied, nextDelay())
      const doc = await DurableDoc.open(new FileStore({ dir }), 'crash')
      const reopened = doc.text.toString()
      await doc.close()

      // Walk the sequence from the last verified prefix: the reopened text must be the text after some prefix
      // that includes every reported edit (a few more may have become durable before the kill).
      let candidate = text
      let match: number | undefined
      for (let j = applied; j <= lastReported + 1 + 16; j++) {
        if (j >= lastReported + 1 && candidate === reopened) {
          match = j
          break
        }
        candidate = applyEdit(candidate, editFor(SEED, j, candidate.length))
      }
      expect(match, `kill ${kill}: reported up to ${lastReported}, seed ${SEED}`).toBeDefined()
      applied = match!
      text = reopened
    }
    expect(applied).toBeGreaterThan(KILLS)
  },
)
