/**
 * A test's measurement in a process of its own (V8 flags of its own, a heap no other test touched):
 * `node <args>`, resolved with what it printed, parsed as JSON; rejected with its stderr if it fails.
 */
import { spawn } from 'node:child_process'

export function jsonFromChild<T>(args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`child exited ${code}: ${err}`)),
    )
  })
}
