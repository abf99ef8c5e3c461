/**
 * A save interrupted by SIGKILL at a random moment leaves the old content or the new, never a mix:
 * a child saves two alternating 2 MB contents in a loop and is killed 10 times.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'

const KILLS = 10
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-savekill-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function saveAndKill(file: string, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'save-child.ts'), file],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let timer: NodeJS.Timeout | undefined
    child.stdout.on('data', () => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.on('exit', (_code, signal) => {
      clearTimeout(timer)
      if (signal === 'SIGKILL') resolve()
      else reject(new Error('save child exited on its own'))
    })
  })
}

it(`leaves the old or the new content after ${KILLS} kills during saves`, { timeout: 60_000 }, async () => {
  const file = join(dir, 'file.txt')
  await writeFile(file, 'A'.repeat(2 * 1024 * 1024))
  const seen = new Set<string>()
  for (let i = 0; i < KILLS; i++) {
    await saveAndKill(file, (i * 7) % 23)
    const content = await readFile(file, 'latin1')
    expect(content.length).toBe(2 * 1024 * 1024)
    expect(/^(A+|B+)$/.test(content)).toBe(true)
    seen.add(content[0]!)
  }
  expect(seen.size).toBeGreaterThan(0)
})
