/**
 * The floor of `npm run bench -- windows`: the path a keystroke takes between two windows, with
 * nothing of Meshpad on it. One relay process per person, as `meshpad serve` is: it serves a bare page
 * over HTTP, takes its keystrokes over a WebSocket, and passes each byte over loopback TCP to the other
 * relay, which hands it to its page. No editor, no CRDT, no log, no encryption.
 *
 * Run: `node --import tsx bench/windows-relay.ts`; prints `relay <http port> <tcp port>`, then reads
 * the other relay's TCP port on stdin.
 */
import { createServer as createHttp } from 'node:http'
import { connect, createServer as createTcp, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { WebSocketServer, type WebSocket } from 'ws'

/** The sender types into it; the receiver's text node grows with each byte (what the bench watches). */
const PAGE = `<!doctype html><meta charset="utf-8"><div class="live"><div class="cm-content" contenteditable>Latency: </div></div>
<script>
  const ws = new WebSocket('ws://' + location.host + '/ws')
  ws.binaryType = 'arraybuffer'
  const content = document.querySelector('.cm-content')
  content.addEventListener('keydown', (e) => { if (e.key.length === 1) ws.send(e.key) })
  ws.addEventListener('message', (m) => content.append(typeof m.data === 'string' ? m.data : ''))
</script>`

let page: WebSocket | null = null
let peer: Socket | null = null
const http = createHttp((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE))
const wss = new WebSocketServer({ server: http, path: '/ws' })
wss.on('connection', (ws) => {
  page = ws
  ws.on('message', (data) => peer?.write(data as Buffer))
})
const tcp = createTcp((socket) => {
  socket.setNoDelay(true)
  socket.on('data', (chunk) => {
    for (const byte of chunk) page?.send(String.fromCharCode(byte))
  })
})
http.listen(0, '127.0.0.1', () =>
  tcp.listen(0, '127.0.0.1', () => {
    const port = (s: { address(): unknown }): number => (s.address() as { port: number }).port
    process.stdout.write(`relay ${port(http)} ${port(tcp)}\n`)
  }),
)
createInterface({ input: process.stdin }).once('line', (line) => {
  peer = connect(Number(line), '127.0.0.1')
  peer.setNoDelay(true)
})
