/**
 * Files round-trip exactly through the headless peer (issue 17): `meshpad peer` in a child process,
 * restarted between saves. A process start costs most of a second, so the CLI runs a representative
 * subset of the table (test/support/round-trip-table.ts: every encoding, line ending and kind of text
 * at least once; several rows at a time) and the app API runs all 80 rows
 * (test/main/hosts/app-service-files.test.ts). Each row: open → edit → save → restart → save →
 * restart → save; the file's bytes after each save are the expected ones, computed by the table, and
 * the document's text is unchanged by every restart.
 *
 * Then the repros: CRLF typed into an LF file, a NUL typed then saved then restarted, U+FEFF
 * typed first; and the removal of stale temp files beside the file.
 */
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CliPeer, killAllPeers } from './cli-peer'
import { cliString, describeBytes, representativeRows, type RoundTripRow } from '../support/round-trip-table'

// The tests run at once (each waits mostly for its peers' start-ups), so peers are cleaned up at the end.
afterAll(async () => {
  await killAllPeers()
})

async function expectBytes(path: string, expected: Uint8Array, what: string): Promise<void> {
  const actual = new Uint8Array(await readFile(path))
  if (Buffer.compare(actual, expected) !== 0) throw new Error(`${what}: ${describeBytes(actual, expected)}`)
}

/** open → edit → save, then twice: restart → check the text → save; the bytes after every save. */
async function roundTrip(row: RoundTripRow): Promise<void> {
  const peer = await CliPeer.start({ name: 'f', bytes: row.initialBytes })
  expect((await peer.view()).text, `${row.name}: opened`).toBe(row.openedText)
  await peer.run(`edit insert ${row.edit.index} ${cliString(row.edit.text)}`)
  expect((await peer.view()).text, `${row.name}: edited`).toBe(row.editedText)
  await peer.run('save')
  await expectBytes(peer.file, row.savedBytes, `${row.name}: first save`)
  await peer.close()
  for (const restart of ['first', 'second']) {
    await peer.restart()
    expect((await peer.view()).text, `${row.name}: after the ${restart} restart`).toBe(row.editedText)
    await peer.run('save')
    await expectBytes(peer.file, row.savedBytes, `${row.name}: save after the ${restart} restart`)
    await peer.close()
  }
}

describe.concurrent('files round-trip exactly through the headless peer', () => {
  const rows = representativeRows()
  it(`${rows.length} files: every encoding, line ending and kind of text, restarted twice`, async () => {
    // Four peers at a time: the machine's cores, not the peers, are what a row waits for.
    for (let i = 0; i < rows.length; i += 4) await Promise.all(rows.slice(i, i + 4).map(roundTrip))
  }, 120_000)

  it('keeps CRLF typed into an LF file as typed, and the file byte for byte', async () => {
    const peer = await CliPeer.start({ name: 'crlf' }) // no file yet: UTF-8 with LF
    await peer.run(`edit insert 0 ${cliString('a\r\nb\r\n')}`)
    await peer.run('save')
    for (let start = 0; start < 3; start++) {
      if (start > 0) {
        await peer.restart()
        await peer.run('save')
      }
      expect(await readFile(peer.file, 'latin1')).toBe('a\r\nb\r\n')
      expect((await peer.view()).text).toBe('a\r\nb\r\n')
      await peer.close()
    }
  }, 60_000)

  it('starts again after a NUL was typed and saved; a never-seen file with NUL is still refused', async () => {
    const peer = await CliPeer.start({ name: 'nul', text: 'x\n' })
    await peer.run(`edit insert 0 ${cliString('a\u0000b')}`)
    await peer.run('save')
    await peer.close()
    for (let i = 0; i < 2; i++) {
      await peer.restart()
      expect((await peer.view()).text).toBe('a\u0000bx\n')
      await peer.run('save')
      expect(await readFile(peer.file)).toEqual(Buffer.from('a\u0000bx\n'))
      await peer.close()
    }
    await expect(CliPeer.start({ name: 'binary', bytes: Buffer.from('a\u0000b') })).rejects.toThrow(
      /exited \(1\)[^]*contains NUL bytes/,
    )
  }, 60_000)

  it('saves a text that starts with U+FEFF after a BOM, and reopens it exactly', async () => {
    const peer = await CliPeer.start({ name: 'bom', text: 'y\n' })
    await peer.run(`edit insert 0 ${cliString('\uFEFF')}`)
    await peer.run('save')
    const expected = Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x79, 0x0a])
    expect(await readFile(peer.file)).toEqual(expected)
    await peer.close()
    for (let i = 0; i < 2; i++) {
      await peer.restart()
      expect((await peer.view()).text).toBe('\uFEFFy\n')
      await peer.run('save')
      expect(await readFile(peer.file)).toEqual(expected)
      await peer.close()
    }
  }, 60_000)

  it('removes its file’s stale temp files on start, never a newer one or another name', async () => {
    const peer = await CliPeer.start({ name: 'f', text: 'text\n' })
    await peer.close()
    const old = new Date(Date.now() - 3600_000)
    // Newer than the process that is about to start: another process's save in progress.
    const future = new Date(Date.now() + 3600_000)
    const stale = ['.f.txt.0123abcd.meshpad-tmp', '.f.txt.ffffffff.meshpad-tmp']
    const fresh = '.f.txt.0badf00d.meshpad-tmp'
    const others = [
      '.g.txt.0123abcd.meshpad-tmp',
      '.f.txt.0123ABCD.meshpad-tmp',
      '.f.txt.0123abc.meshpad-tmp',
      'f.txt.0123abcd.meshpad-tmp',
      '.f.txt.0123abcd.meshpad-tmp~',
    ]
    for (const name of [...stale, ...others, fresh]) {
      await writeFile(join(peer.folder, name), 'half a save')
      const when = name === fresh ? future : old
      await utimes(join(peer.folder, name), when, when)
    }
    await peer.restart()
    expect((await peer.view()).text).toBe('text\n')
    const names = (await readdir(peer.folder)).filter((n) => n !== 'data')
    expect(names.sort()).toEqual(['f.txt', fresh, ...others].sort())
    await peer.close()
  }, 60_000)
})
