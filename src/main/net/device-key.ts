/**
 * The device's identity: one Ed25519 key pair, kept in `<data dir>/device-key.json` with 0600
 * permissions, and the short device ID (a fingerprint of the public key) that people compare.
 *
 * The key is never replaced behind the user's back. Documents and their members know this device by its
 * public key; a silently regenerated key would turn it into a stranger that has lost access to
 * everything. So a file that exists but cannot be read or does not hold a valid key pair is an error
 * that names the file and says what to do, and only a missing file leads to a new key.
 */
import { createHash, randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { dirname, join } from 'node:path'
import SecretStream from '@hyperswarm/secret-stream'
import { copyOf } from '../../shared/sync/framing'
import { errnoOf } from './errors'
import { defaultNetLog, type NetLog } from './log'
import type { KeyPair } from './secure-channel'

export const DEVICE_KEY_FILE = 'device-key.json'
const FORMAT = 'meshpad-device-key'
const VERSION = 1
const MODE = 0o600
/** Far above a real key file: anything bigger is not ours, and is not read into memory. */
const MAX_FILE_BYTES = 64 * 1024

export type DeviceKeyErrorCode =
  /** The file exists but is not a valid key pair. */
  | 'DEVICE_KEY_CORRUPT'
  /** The file exists but cannot be read, or is readable by others and cannot be made private. */
  | 'DEVICE_KEY_UNREADABLE'
  /** A new key could not be written. */
  | 'DEVICE_KEY_UNWRITABLE'

export class DeviceKeyError extends Error {
  readonly code: DeviceKeyErrorCode
  readonly path: string

  constructor(code: DeviceKeyErrorCode, path: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DeviceKeyError'
    this.code = code
    this.path = path
  }
}

export interface DeviceIdentity extends KeyPair {
  /** The fingerprint people compare, e.g. `7KQ3-M2XD-9TWA-R4HN`. */
  readonly deviceId: string
  /** Where the key is kept. */
  readonly path: string
  /** True when this call made a new key (first start on this data dir). */
  readonly created: boolean
}

interface KeyFile {
  readonly format: string
  readonly version: number
  readonly algorithm: string
  readonly publicKey: string
  readonly secretKey: string
}

/**
 * Crockford's base32: no I, L, O or U, so that nothing read aloud or off a screen is ambiguous.
 * 10 bytes of SHA-256 give 80 bits, 16 characters, which is far beyond what anyone could brute-force to
 * impersonate a given device ID and still short enough to compare at a glance.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const ID_BYTES = 10

/** The device ID of a public key: `XXXX-XXXX-XXXX-XXXX`. */
export function deviceIdOf(publicKey: Uint8Array): string {
  const digest = createHash('sha256').update('meshpad device id v1\0').update(publicKey).digest()
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of digest.subarray(0, ID_BYTES)) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(value >>> bits) & 31]
    }
    value &= (1 << bits) - 1
  }
  return out.match(/.{4}/g)!.join('-')
}

/** A fresh Ed25519 key pair (libsodium, through secret-stream). */
export function generateKeyPair(): KeyPair {
  return SecretStream.keyPair()
}

/**
 * Loads the device key from `dataDir`, or creates it there if there is none. Throws DeviceKeyError
 * (never replaces the file) when the file is there but unusable.
 */
export async function loadOrCreateDeviceKey(
  dataDir: string,
  options: { readonly log?: NetLog } = {},
): Promise<DeviceIdentity> {
  const log = options.log ?? defaultNetLog
  const path = join(dataDir, DEVICE_KEY_FILE)
  const existing = await readKeyFile(path, log)
  if (existing !== null)
    return { ...existing, deviceId: deviceIdOf(existing.publicKey), path, created: false }

  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw new DeviceKeyError('DEVICE_KEY_UNWRITABLE', path, `Cannot create the data folder ${dataDir}.`, {
      cause: error,
    })
  })
  const keyPair = generateKeyPair()
  const won = await writeKeyFileOnce(path, keyPair)
  if (!won) {
    // Another process on the same data dir created it between our read and our write: use theirs.
    const theirs = await readKeyFile(path, log)
    if (theirs === null) {
      throw new DeviceKeyError('DEVICE_KEY_UNWRITABLE', path, `${path} vanished while it was being created.`)
    }
    return identity(theirs, path, false)
  }
  log('info', `created a new device key in ${path}`)
  return identity(keyPair, path, true)
}

/** Plain Uint8Array copies of the keys (libsodium hands out Buffers). */
function identity(keyPair: KeyPair, path: string, created: boolean): DeviceIdentity {
  const publicKey = copyOf(keyPair.publicKey)
  return { publicKey, secretKey: copyOf(keyPair.secretKey), deviceId: deviceIdOf(publicKey), path, created }
}

/** The key pair in `path`, null if there is no such file; DeviceKeyError for anything else. */
async function readKeyFile(path: string, log: NetLog): Promise<KeyPair | null> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(path, 'r')
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null
    throw new DeviceKeyError(
      'DEVICE_KEY_UNREADABLE',
      path,
      `Cannot read the device key ${path} (${errnoOf(error) ?? String(error)}). Meshpad will not replace ` +
        'it: it is this device’s identity. Check that the file belongs to you and is readable, then retry.',
      { cause: error },
    )
  }
  try {
    const info = await handle.stat()
    if (!info.isFile() || info.size > MAX_FILE_BYTES) throw corrupt(path, 'not a key file')
    await tightenPermissions(handle, path, info.mode, log)
    const text = await handle.readFile({ encoding: 'utf8' })
    return parseKeyFile(text, path)
  } finally {
    await handle.close()
  }
}

async function tightenPermissions(
  handle: fs.FileHandle,
  path: string,
  mode: number,
  log: NetLog,
): Promise<void> {
  // Windows has no POSIX modes (the file inherits the user profile's ACL).
  if (process.platform === 'win32' || (mode & 0o077) === 0) return
  try {
    await handle.chmod(MODE)
  } catch (error) {
    throw new DeviceKeyError(
      'DEVICE_KEY_UNREADABLE',
      path,
      `The device key ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}) and its ` +
        `permissions cannot be changed (${errnoOf(error) ?? String(error)}). Run \`chmod 600 ${path}\` as ` +
        'its owner, then retry.',
      { cause: error },
    )
  }
  log('warn', `${path} was readable by other users (mode ${(mode & 0o777).toString(8)}); changed to 600`)
}

function parseKeyFile(text: string, path: string): KeyPair {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt(path, 'not valid JSON')
  }
  if (!isKeyFile(data) || data.format !== FORMAT) throw corrupt(path, 'not a Meshpad device key file')
  if (data.version !== VERSION || data.algorithm !== 'ed25519') {
    throw corrupt(path, `unsupported version ${data.version} / algorithm ${data.algorithm}`)
  }
  if (!/^[0-9a-f]{64}$/.test(data.publicKey) || !/^[0-9a-f]{128}$/.test(data.secretKey)) {
    throw corrupt(path, 'the keys are not 32 and 64 bytes of hex')
  }
  const publicKey = Buffer.from(data.publicKey, 'hex')
  const secretKey = Buffer.from(data.secretKey, 'hex')
  // libsodium's secret key is seed ‖ public key: re-deriving it from the seed catches any flipped bit.
  const derived = SecretStream.keyPair(secretKey.subarray(0, 32))
  if (!derived.publicKey.equals(publicKey) || !derived.secretKey.equals(secretKey)) {
    throw corrupt(path, 'the public key does not match the secret key')
  }
  return { publicKey, secretKey }
}

function isKeyFile(data: unknown): data is KeyFile {
  if (typeof data !== 'object' || data === null) return false
  const record = data as Record<string, unknown>
  return (
    typeof record.format === 'string' &&
    typeof record.version === 'number' &&
    typeof record.algorithm === 'string' &&
    typeof record.publicKey === 'string' &&
    typeof record.secretKey === 'string'
  )
}

function corrupt(path: string, detail: string): DeviceKeyError {
  return new DeviceKeyError(
    'DEVICE_KEY_CORRUPT',
    path,
    `The device key ${path} is damaged (${detail}). Meshpad will not replace it on its own, because the ` +
      'documents shared with this device know it by this key. Restore the file from a backup; or, to start ' +
      'over as a new device that peers must invite again, move the file away and restart.',
  )
}

/**
 * Writes the key so that the file appears complete or not at all, and never over an existing one:
 * temp file (0600, fsync) → link() to the final name, which fails if the name exists. Where hard links
 * are not supported, falls back to rename() after an existence check. Returns false if a file was there.
 */
async function writeKeyFileOnce(path: string, keyPair: KeyPair): Promise<boolean> {
  const content: KeyFile & { note: string; created: string } = {
    format: FORMAT,
    version: VERSION,
    algorithm: 'ed25519',
    note: 'This device’s identity in Meshpad. Keep it private; deleting it makes this device a stranger to its documents.',
    created: new Date().toISOString(),
    publicKey: Buffer.from(keyPair.publicKey).toString('hex'),
    secretKey: Buffer.from(keyPair.secretKey).toString('hex'),
  }
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  const unwritable = (error: unknown): DeviceKeyError =>
    new DeviceKeyError(
      'DEVICE_KEY_UNWRITABLE',
      path,
      `Cannot write the new device key ${path} (${errnoOf(error) ?? String(error)}). Check that the data ` +
        'folder is writable and the disk is not full.',
      { cause: error },
    )
  try {
    const handle = await fs.open(temp, 'wx', MODE)
    try {
      await handle.chmod(MODE) // the umask may have narrowed it; never widen beyond 0600 either
      await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    const won = await linkOrRename(temp, path)
    await syncDirectory(path)
    return won
  } catch (error) {
    throw unwritable(error)
  } finally {
    await fs.rm(temp, { force: true })
  }
}

async function linkOrRename(temp: string, path: string): Promise<boolean> {
  try {
    await fs.link(temp, path)
    return true
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(errnoOf(error) ?? '')) throw error
  }
  const exists = await fs.access(path).then(
    () => true,
    () => false,
  )
  if (exists) return false
  await fs.rename(temp, path)
  return true
}

/** So that the new directory entry survives a power cut; not possible (nor needed) on Windows. */
async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return
  const dir = await fs.open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
