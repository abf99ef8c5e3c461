// Run with `node --require` by `npm run bench -- windows` in each `meshpad serve` it starts: stamps every
// read and write of every TCP socket (the page's WebSocket, the peer connection) with the time and the
// socket's ports, and writes them to MESHPAD_BENCH_STAMPS as JSON when the process exits. The bench then
// splits a keystroke's time in the nodes from its time on the sockets. Nothing of the app is changed:
// only net.Socket's own write and push are wrapped, and each stamp costs a few microseconds.
'use strict'
const net = require('node:net')
const { writeFileSync } = require('node:fs')
const { performance } = require('node:perf_hooks')

const out = process.env.MESHPAD_BENCH_STAMPS
if (out) {
  /** [time (ms, performance.timeOrigin + now), 'r' | 'w', local port, remote port] */
  const stamps = []
  const clock = () => performance.timeOrigin + performance.now()
  const { write } = net.Socket.prototype
  net.Socket.prototype.write = function (...args) {
    stamps.push([clock(), 'w', this.localPort, this.remotePort])
    return write.apply(this, args)
  }
  // What a socket has read is pushed into its stream, before any of its listeners run.
  const { push } = net.Socket.prototype
  net.Socket.prototype.push = function (chunk, ...rest) {
    if (chunk) stamps.push([clock(), 'r', this.localPort, this.remotePort])
    return push.call(this, chunk, ...rest)
  }
  process.once('exit', () => writeFileSync(out, JSON.stringify(stamps)))
}
