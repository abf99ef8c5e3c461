/** `meshpad serve` as a person runs it: a child process, and the tokenised URL it prints. */
import { spawn, type ChildProcess } from 'node:child_process'

export interface ServeProcess {
  readonly proc: ChildProcess
  /** `http://127.0.0.1:<port>/?token=<64 hex>`. */
  readonly url: string
}

/** Starts `meshpad serve <args>` from the repository root; rejects (with its stderr) if it exits first. */
export function spawnServe(args: readonly string[]): Promise<ServeProcess> {
  const proc = spawn(process.execPath, ['bin/meshpad.cjs', 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  proc.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
  return new Promise((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})\n/.exec(out)
      if (m) resolve({ proc, url: m[1]! })
    })
    proc.once('exit', (code) => reject(new Error(`meshpad serve exited with ${code}:\n${log}`)))
  })
}
