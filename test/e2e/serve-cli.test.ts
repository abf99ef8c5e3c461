/**
 * `meshpad serve` as a process: it prints a tokenised URL on 127.0.0.1, serves the app with the token,
 * refuses without it, and exits cleanly on SIGTERM.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnServe } from '../support/serve'

describe('meshpad serve', () => {
  let child: ChildProcess | undefined

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
  })

  it('prints a token URL, serves with the token only, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshpad-serve-'))
    const { proc, url } = await spawnServe(['--data-dir', dataDir, '--no-discovery', '--host', '127.0.0.1'])
    child = proc
    const { origin, searchParams } = new URL(url)
    expect((await fetch(`${origin}/`, { redirect: 'manual' })).status).toBe(403)
    const page = await fetch(`${origin}/${searchParams.get('token')}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-eval')
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
