/**
 * Test support, run as its own process (`node --import tsx flood-attacker.ts <mode> <port> <count>`)
 * so that the attack does not share the node's event loop, as an attacker on another machine would
 * not. Every source address is one of 127.0.0.2…127.0.0.250 (all loopback on Linux). Modes:
 *
 * - `half-open`: `count` sockets that connect and say nothing (even ones) or send a genuine first
 *   Noise message and stall (odd ones); each is reopened as soon as it closes.
 * - `sybil`: `count` throwaway device keys that complete the handshake and the pairing, send a hello
 *   and stay; each reconnects as soon as it is dropped.
 *
 * Prints one JSON line `{ "opened": n }` (sockets opened, or connections announced) every 100 ms;
 * stops on SIGTERM or when stdin closes.
 */
import { connect, type Socket } from 'node:net'
import { generateKeyPair } from '../../src/main/net/device-key'
import { Transport } from '../../src/main/net/transport'
import { encodeMessage, PROTOCOL_VERSION } from '../../src/shared/sync/messages'
import { capturedHandshake } from './hostile'
import { HOST, sleep } from './util'

const [mode, portArg, countArg] = process.argv.slice(2)
const port = Number(portArg)
const count = Number(countArg)
const addressOf = (i: number): string => `127.0.0.${2 + (i % 249)}`

let opened = 0
let running = true
const stoppers: (() => Promise<void> | void)[] = []

async function halfOpen(): Promise<void> {
  const first = await capturedHandshake(generateKeyPair())
  const live = new Set<Socket>()
  const open = (i: number): void => {
    if (!running) return
    const socket = connect({ host: HOST, port, localAddress: addressOf(i) })
    opened++
    live.add(socket)
    socket.on('error', () => undefined)
    if (i % 2 === 1) socket.once('connect', () => socket.write(first))
    socket.once('close', () => {
      live.delete(socket)
      if (running) setImmediate(() => open(i))
    })
  }
  for (let i = 0; i < count; i++) open(i)
  stoppers.push(() => {
    for (const socket of live) socket.destroy()
  })
}

function sybils(): void {
  const transports: Transport[] = []
  const hello = encodeMessage({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    app: 'x',
    name: 'sybil',
    gotYours: false,
  })
  const run = async (i: number): Promise<void> => {
    const transport = new Transport({ keyPair: generateKeyPair(), log: () => undefined })
    transports.push(transport)
    while (running) {
      try {
        const connection = await transport.dial(HOST, port, { localAddress: addressOf(i) })
        opened++
        const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()))
        connection.onMessage(() => undefined)
        connection.send(hello)
        await closed
      } catch {
        await sleep(20)
      }
    }
  }
  for (let i = 0; i < count; i++) void run(i)
  stoppers.push(() => Promise.all(transports.map((t) => t.close())).then(() => undefined))
}

async function stop(): Promise<void> {
  if (!running) return
  running = false
  clearInterval(report)
  await Promise.all(stoppers.map((s) => s()))
  process.exit(0)
}

const report = setInterval(() => process.stdout.write(`${JSON.stringify({ opened })}\n`), 100)
process.on('SIGTERM', () => void stop())
process.stdin.on('end', () => void stop())
process.stdin.resume()
if (mode === 'half-open') void halfOpen()
else if (mode === 'sybil') sybils()
else throw new Error(`unknown mode ${mode}`)
