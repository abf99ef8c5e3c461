/**
 * `meshpad serve`: a peer node plus browser mode (hosts/web-host.ts). Prints the URL to open, token
 * included, and the node's peer port; runs until interrupted.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { AppService } from '../hosts/app-service'
import { startWebHost, type WebHost } from '../hosts/web-host'
import { PeerNode } from '../node/peer-node'

export interface ServeOptions {
  readonly dataDir: string
  readonly name: string
  /** The http port of browser mode (0: any free one). */
  readonly port: number
  /** The peer (TCP) port and address. */
  readonly peerPort: number
  readonly host: string
  readonly discovery: boolean
  readonly rendererDir?: string
}

/**
 * The built renderer, <repo>/out/renderer: beside this file when it runs as the built CLI (out/main),
 * three levels up when bin/meshpad.cjs runs it from the sources (src/main/cli).
 */
function builtRenderer(): string {
  const beside = join(__dirname, '../renderer')
  return existsSync(join(beside, 'index.html')) ? beside : join(__dirname, '../../../out/renderer')
}

export async function runServe(options: ServeOptions): Promise<void> {
  const node = await PeerNode.start({
    dataDir: options.dataDir,
    name: options.name,
    port: options.peerPort,
    host: options.host,
    discovery: options.discovery,
    log: (m) => process.stderr.write(`${m}\n`),
  })
  const service = new AppService({ node, host: 'browser', version: '0.1.0', dataDir: options.dataDir })
  let web: WebHost
  try {
    web = await startWebHost({
      service,
      rendererDir: options.rendererDir ?? builtRenderer(),
      port: options.port,
      log: (m) => process.stderr.write(`${m}\n`),
    })
  } catch (err) {
    service.close()
    await node.close()
    throw err
  }
  process.stdout.write(`meshpad: peer node on port ${node.port}\nmeshpad: open ${web.url}\n`)
  const stop = (): void => {
    void web
      .close()
      // What waits to be written to shared folders is written before the node goes.
      .then(() => service.closeProjects())
      .then(() => service.close())
      .then(() => node.close())
      .finally(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
