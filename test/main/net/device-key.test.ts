import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEVICE_KEY_FILE,
  DeviceKeyError,
  deviceIdOf,
  generateKeyPair,
  loadOrCreateDeviceKey,
} from '../../../src/main/net/device-key'
import type { LogLine } from './helpers'

const posix = process.platform !== 'win32'
let root: string
let logs: LogLine[]
const log = (level: LogLine['level'], message: string): void => void logs.push({ level, message })

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-key-'))
  logs = []
})
afterEach(() => rm(root, { recursive: true, force: true }))

async function keyError(promise: Promise<unknown>): Promise<DeviceKeyError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof DeviceKeyError) return error
    throw error
  }
  throw new Error('expected a DeviceKeyError')
}

describe('device key', () => {
  it('is created once with mode 0600, then reloaded identical', async () => {
    const dir = join(root, 'nested', 'data')
    const first = await loadOrCreateDeviceKey(dir, { log })
    expect(first.created).toBe(true)
    expect(first.path).toBe(join(dir, DEVICE_KEY_FILE))
    expect(first.publicKey.length).toBe(32)
    expect(first.secretKey.length).toBe(64)
    if (posix) expect((await stat(first.path)).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual([DEVICE_KEY_FILE]) // no temp file left behind

    const again = await loadOrCreateDeviceKey(dir, { log })
    expect(again.created).toBe(false)
    expect(Buffer.from(again.publicKey).equals(Buffer.from(first.publicKey))).toBe(true)
    expect(Buffer.from(again.secretKey).equals(Buffer.from(first.secretKey))).toBe(true)
    expect(again.deviceId).toBe(first.deviceId)
  })

  it('gives concurrent first starts the same identity', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => loadOrCreateDeviceKey(root, { log })))
    expect(new Set([a!.deviceId, b!.deviceId, c!.deviceId]).size).toBe(1)
    expect((await loadOrCreateDeviceKey(root, { log })).deviceId).toBe(a!.deviceId)
  })

  it.runIf(posix)('tightens permissions that let others read the key', async () => {
    const { path, deviceId } = await loadOrCreateDeviceKey(root, { log })
    await chmod(path, 0o644)
    expect((await loadOrCreateDeviceKey(root, { log })).deviceId).toBe(deviceId)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(logs.some((l) => l.level === 'warn' && l.message.includes('644'))).toBe(true)
  })

  it('refuses a corrupt key file with a typed error naming it, and leaves it alone', async () => {
    const path = join(root, DEVICE_KEY_FILE)
    const cases = ['', 'not json', '{"format":"something-else"}', '[]']
    const valid = await loadOrCreateDeviceKey(join(root, 'ok'), { log })
    const text = await readFile(valid.path, 'utf8')
    const parsed = JSON.parse(text) as { publicKey: string; secretKey: string; version: number }
    const flip = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1)
    cases.push(JSON.stringify({ ...parsed, publicKey: flip(parsed.publicKey) }))
    cases.push(JSON.stringify({ ...parsed, secretKey: flip(parsed.secretKey) }))
    cases.push(JSON.stringify({ ...parsed, secretKey: parsed.secretKey.slice(2) }))
    cases.push(JSON.stringify({ ...parsed, version: 2 }))
    for (const content of cases) {
      await writeFile(path, content, { mode: 0o600 })
      const error = await keyError(loadOrCreateDeviceKey(root, { log }))
      expect(error.code, content).toBe('DEVICE_KEY_CORRUPT')
      expect(error.path).toBe(path)
      expect(error.message).toContain(path)
      expect(error.message).toMatch(/will not replace/)
      expect(await readFile(path, 'utf8')).toBe(content)
    }
  })

  it('refuses a key path that is not a file', async () => {
    const { mkdir } = await import('node:fs/promises')
    await mkdir(join(root, DEVICE_KEY_FILE))
    const error = await keyError(loadOrCreateDeviceKey(root, { log }))
    expect(['DEVICE_KEY_CORRUPT', 'DEVICE_KEY_UNREADABLE']).toContain(error.code)
  })

  it('derives a short, stable, well-spread device ID from the public key', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i)
    const id = deviceIdOf(key)
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/)
    expect(deviceIdOf(Uint8Array.from(key))).toBe(id)
    const ids = new Set(Array.from({ length: 200 }, () => deviceIdOf(generateKeyPair().publicKey)))
    expect(ids.size).toBe(200)
  })
})
