/**
 * Browser mode: the app API over http + WebSocket, for using Meshpad from a browser tab (and for the
 * end-to-end tests, since no Electron window runs on CI). Bound to 127.0.0.1 only. Anything on this
 * machine can connect to a loopback port, so every request must carry a random 256-bit token:
 *
 *   http://127.0.0.1:<port>/?token=<t>   redirects to   /<t>/   (the app; its assets are under /<t>/)
 *   ws://127.0.0.1:<port>/<t>/ws         the API: JSON frames (src/shared/wire-json.ts)
 *
 * The token is a path segment rather than a query or a cookie because the renderer's assets and its
 * lazily loaded language chunks are fetched by relative URL (a query would not follow them) and a cookie
 * for 127.0.0.1 would be sent to every other local server on any port. Host and Origin are checked too,
 * which stops DNS rebinding and cross-site WebSocket hijacking even if the token leaked.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { API_REQUESTS, apiError, type ApiRequest, type MeshpadApi } from '../../shared/api'
import { decodeWire, encodeWireParts, type WireMessage } from '../../shared/wire-json'
import { CONTENT_SECURITY_POLICY } from '../security'
import type { AppService } from './app-service'

export interface WebHostOptions {
  readonly service: AppService
  /** The built renderer (out/renderer). */
  readonly rendererDir: string
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** For tests only; otherwise a fresh random one per start. */
  readonly token?: string
  readonly log?: (message: string) => void
}

export interface WebHost {
  /** The URL to open, token included. */
  readonly url: string
  readonly port: number
  readonly token: string
  close(): Promise<void>
}

const HOST = '127.0.0.1'
/** Documents arrive whole when opened; a paste can be big. Beyond this a frame is refused. */
const MAX_FRAME = 256 * 1024 * 1024

/** Content types of the files a built renderer consists of. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
}

/** Constant-time string equality: both sides are hashed first so that lengths leak nothing either. */
export function tokenMatches(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b)
}

/** The app's CSP, with the API's WebSocket named explicitly (connect-src 'self' is about http(s)). */
export function browserModeCsp(port: number): string {
  return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", `connect-src 'self' ws://${HOST}:${port}`)
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const token = options.token ?? randomBytes(32).toString('hex')
  const log = options.log ?? (() => undefined)
  const root = normalize(options.rendererDir) + sep
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`The renderer is not built (${root}index.html is missing): run \`npm run build\`.`)
  }
  let port = 0
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME })

  const refuse = (res: ServerResponse, status: number, message: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
    res.end(message)
  }
  const hostOk = (req: IncomingMessage): boolean => req.headers.host === `${HOST}:${port}`

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!hostOk(req)) return refuse(res, 421, 'Wrong Host header.')
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed.')
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`)
    if (url.pathname === '/') {
      const given = url.searchParams.get('token') ?? ''
      if (!tokenMatches(given, token))
        return refuse(res, 403, 'Missing or wrong token: use the URL `meshpad serve` printed.')
      res.writeHead(302, {
        location: `/${token}/`,
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      })
      res.end()
      return
    }
    const [, first = '', ...rest] = url.pathname.split('/')
    if (!tokenMatches(first, token))
      return refuse(res, 403, 'Missing or wrong token: use the URL `meshpad serve` printed.')
    let path: string
    try {
      path = decodeURIComponent(rest.join('/'))
    } catch {
      return refuse(res, 400, 'Bad path.')
    }
    const file = normalize(join(root, path === '' ? 'index.html' : path))
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      return refuse(res, 404, 'Not found.')
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': browserModeCsp(port),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': 'no-store',
    })
    if (req.method === 'HEAD') res.end()
    else createReadStream(file).pipe(res)
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`)
    const [, first = '', second = '', ...more] = url.pathname.split('/')
    const ok =
      hostOk(req) &&
      req.headers.origin === `http://${HOST}:${port}` &&
      tokenMatches(first, token) &&
      second === 'ws' &&
      more.length === 0
    if (!ok) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, options.service, log))
  }

  const server: Server = createServer(onRequest)
  server.on('upgrade', onUpgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Messages up to this size are sent as one WebSocket frame, larger ones as fragments. */
const ONE_FRAME_BYTES = 64 * 1024

/** After the microtasks queued so far, and whatever I/O is ready: the next turn of the event loop. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const isRequest = (m: string): m is ApiRequest => (API_REQUESTS as readonly string[]).includes(m)

/**
 * One browser tab: its own AppClient. Requests start in the order they came, each once the one before
 * has answered or had its turn of the event loop, as each of Electron's IPC messages is a task of its
 * own: so op batches are applied in order, and a request waiting on the disk or the network (a
 * keystroke's fsync, a join's wait for the inviter) holds up no other.
 */
function serveSocket(ws: WebSocket, service: AppService, log: (message: string) => void): void {
  const send = (message: WireMessage): void => {
    if (ws.readyState !== ws.OPEN) return
    // A large message goes in fragments, the byte arrays as they are: a document's state is not copied
    // into a frame. A small one (a keystroke's ops) goes as one frame: each fragment is a socket write
    // and a wake-up of the page, which cost more than copying a few bytes.
    const parts = encodeWireParts(message)
    const size = parts.reduce((n, part) => n + part.length, 0)
    if (size <= ONE_FRAME_BYTES) ws.send(Buffer.concat(parts, size), { binary: true })
    else parts.forEach((part, i) => ws.send(part, { binary: true, fin: i === parts.length - 1 }))
  }
  const client = service.connect((event) => send({ kind: 'event', event }))
  const malformed = (id: number, err: unknown): void => {
    log(`browser client: ${err instanceof Error ? err.message : String(err)}`)
    send({ kind: 'reply', id, result: apiError('BAD_REQUEST', 'Malformed request.') })
  }
  let queue: Promise<void> = Promise.resolve()
  ws.on('message', (data, isBinary) => {
    queue = queue.then(async () => {
      let id = -1
      try {
        if (!isBinary || !Buffer.isBuffer(data)) throw new TypeError('Requests are binary frames.')
        const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        const raw = decodeWire(frame) as { id?: unknown; method?: unknown; args?: unknown }
        if (typeof raw.id !== 'number' || !Number.isSafeInteger(raw.id))
          throw new TypeError('Bad request id.')
        id = raw.id
        if (typeof raw.method !== 'string' || !isRequest(raw.method) || !Array.isArray(raw.args)) {
          send({ kind: 'reply', id, result: apiError('BAD_REQUEST', 'Unknown request.') })
          return
        }
        const method = client[raw.method] as (...args: unknown[]) => ReturnType<MeshpadApi[ApiRequest]>
        const reply = method(...(raw.args as unknown[])).then(
          (result) => send({ kind: 'reply', id, result }),
          (err: unknown) => malformed(id, err),
        )
        await Promise.race([reply, nextTurn()])
      } catch (err) {
        malformed(id, err)
      }
    })
  })
  ws.on('close', () => client.close())
  ws.on('error', (err) => log(`browser client: ${err.message}`))
}
