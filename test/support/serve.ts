/** `meshpad serve` as a person runs it: a child process, and the tokenised URL it prints. */
import { spawn, type ChildProcess } from 'node:child_process'

export interface ServeProcess {
  readonly proc: ChildProcess
  /** `http://127.0.0.1:<port>/?token=<64 hex>`. */
  readonly url: string
}

/**
 * Starts `meshpad serve <args>` from the repository root; rejects (with its stderr) if it exits first.
 * `node`: options for Node itself (a bench's preload), and variables added to the environment.
 */
export function spawnServe(
  args: readonly string[],
  node: { readonly args?: readonly string[]; readonly env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [...(node.args ?? []), 'bin/meshpad.cjs', 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...node.env },
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
