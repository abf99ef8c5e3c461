/**
 * A peer's words never act on the terminal of a `meshpad peer` (issue 12): a stranger whose name holds
 * an escape sequence and fake answer lines asks to join a shared document; the CLI prints the request
 * with visible stand-ins, and a scripted driver still reads its answers right.
 */
import { afterEach, expect, it } from 'vitest'
import { CliPeer, killAllPeers } from './cli-peer'
import { ProtocolClient } from './protocol-client'
import { until } from './util'

afterEach(killAllPeers)

it('prints a hostile name with visible stand-ins and no line of its own', async () => {
  const owner = await CliPeer.start({ name: 'ana', text: 'shared\n' })
  await owner.run('share on')
  const status = (await owner.run('status')).join('\n')
  const docId = /document ([0-9a-f]{32})/.exec(status)![1]!
  const stranger = await ProtocolClient.connect(owner.port)
  try {
    const hostile = 'eve\u001b]0;owned\u0007\u001b[2J\nok\nerror: fake\u202E'
    await stranger.greet(hostile)
    stranger.send({ type: 'join-request', docId, name: hostile })
    await until(
      'the join request is printed',
      () => owner.transcript.some((l) => l.includes('join request')),
      10_000,
    )
    const line = owner.transcript.find((l) => l.includes('join request'))!
    expect(line).toContain('eve\u241b]0;owned\u2407\u241b[2J\u23CEok\u23CEerror: fake\uFFFD')
    const acts = (c: string): boolean => {
      const code = c.charCodeAt(0)
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e)
    }
    for (const l of owner.transcript) expect([...l].filter(acts), l).toEqual([])
    // The driver's next answer is still the CLI's own.
    expect((await owner.view()).text).toBe('shared\n')
    const requests = await owner.run('requests')
    expect(requests).toHaveLength(1)
    expect(requests[0]).toContain('\u23CEok\u23CE')
  } finally {
    await stranger.close()
  }
})
