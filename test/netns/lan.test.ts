/**
 * Three hosts on one virtual LAN (network namespaces on a bridge), each a headless `meshpad peer` with
 * discovery on and no `add` anywhere: they find each other, join one document by invite, converge on
 * concurrent edits, and after each of five partitions (a host's bridge port down: its cable pulled),
 * with edits on both sides, converge again within 5 s of the heal with nothing lost.
 *
 * Needs root and iproute2: skipped with a message otherwise, failed instead when
 * MESHPAD_REQUIRE_NETNS=1 (CI). Only 10.77.0.x inside the namespaces it makes is ever used.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { CliPeer } from './cli-peer'
import { Lab, netnsSupport, requireSupport, shouldSkip } from './harness'

const HEAL_DEADLINE_MS = 5000
const CYCLES = 5
const checks = [netnsSupport()]

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until every peer shows the same text and `accept` holds for it; returns how long it took. */
async function converge(
  peers: CliPeer[],
  accept: (text: string) => boolean,
  timeoutMs: number,
): Promise<number> {
  const start = Date.now()
  let texts: string[] = []
  for (;;) {
    texts = await Promise.all(peers.map((p) => p.text()))
    if (texts.every((t) => t === texts[0]) && accept(texts[0]!)) return Date.now() - start
    if (Date.now() - start > timeoutMs) {
      throw new Error(
        `no convergence within ${timeoutMs} ms:\n${texts.map((t, i) => `${peers[i]!.name}: ${JSON.stringify(t)}`).join('\n')}`,
      )
    }
    await sleep(100)
  }
}

/** Each token appears exactly once: nothing lost, nothing doubled. */
const holdsEachOnce = (tokens: string[]) => (text: string) => tokens.every((t) => text.split(t).length === 2)

describe.skipIf(shouldSkip('netns LAN', ...checks))('three hosts on a LAN, discovery only', () => {
  let lab: Lab
  let peers: CliPeer[] = []

  beforeAll(async () => {
    requireSupport(...checks)
    lab = await Lab.create(3)
    peers = await Promise.all(
      lab.hosts.map((host) =>
        CliPeer.start(lab, host, `host${host.index}`, host.index === 1 ? 'base\n' : ''),
      ),
    )
  }, 60_000)

  /** On failure, what each peer printed: its logs say what discovery and the dialer did. */
  const transcripts = (): void => {
    for (const p of peers) console.log(`---- ${p.name} (${p.host.address})\n${p.lines.all.join('\n')}`)
  }

  afterAll(async () => {
    if (process.env['MESHPAD_NETNS_TRANSCRIPT'] === '1') transcripts()
    await lab?.destroy()
    for (const p of peers) p.removeFiles()
  })

  it('discover each other with no add, join by invite, and converge on concurrent edits', async () => {
    onTestFailed(transcripts)
    // Discovery connects every Meshpad peer on the LAN: each host ends up connected to the other two.
    const start = Date.now()
    for (;;) {
      const seen = await Promise.all(peers.map((p) => p.connectedAddresses()))
      if (
        seen.every(
          (addresses, i) => new Set(addresses).size === 2 && !addresses.includes(peers[i]!.host.address),
        )
      )
        break
      if (Date.now() - start > 15_000) throw new Error(`not all connected: ${JSON.stringify(seen)}`)
      await sleep(200)
    }
    // Nothing else dials: these connections are discovery's.
    for (const p of peers) expect(p.lines.all.some((l) => /^log: discovery: dialing /.test(l))).toBe(true)

    // host2 and host3 join host1's document over the connection discovery made.
    for (const joiner of peers.slice(1)) await joiner.join(await peers[0]!.invite())
    await converge(peers, (t) => t === 'base\n', 10_000)

    await Promise.all(peers.map((p) => p.insert(0, `[${p.name}]`)))
    await converge(peers, holdsEachOnce(['[host1]', '[host2]', '[host3]', 'base\n']), 10_000)
  }, 60_000)

  it(`survives ${CYCLES} partitions: edits on both sides, healed within ${HEAL_DEADLINE_MS / 1000} s, nothing lost`, async () => {
    onTestFailed(transcripts)
    const tokens = ['[host1]', '[host2]', '[host3]', 'base\n']
    const healTimes: number[] = []
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const cut = peers[(cycle - 1) % peers.length]!
      const others = peers.filter((p) => p !== cut)
      await lab.partition(cut.host.index)
      const inside = `<${cut.name} c${cycle}>`
      const outside = `<${others[0]!.name} c${cycle}>`
      await Promise.all([cut.insert(0, inside), others[0]!.insert(0, outside)])
      tokens.push(inside, outside)
      // The two sides really are apart: the cut host does not get the other side's edit, nor it ours.
      await converge(others, holdsEachOnce([outside]), HEAL_DEADLINE_MS)
      await sleep(2500)
      expect(await cut.text()).not.toContain(outside)
      expect(await others[1]!.text()).not.toContain(inside)

      await lab.heal(cut.host.index)
      const took = await converge(peers, holdsEachOnce(tokens), HEAL_DEADLINE_MS)
      healTimes.push(took)
    }
    console.log(`[netns LAN] converged ${healTimes.map((t) => `${t} ms`).join(', ')} after each heal`)
    expect(Math.max(...healTimes)).toBeLessThanOrEqual(HEAL_DEADLINE_MS)
  }, 120_000)
})
