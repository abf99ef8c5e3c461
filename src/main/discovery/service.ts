/**
 * What Meshpad's DNS-SD service is called on the wire, and the checks every name from the network
 * goes through before it is used. Names are compared case-insensitively (RFC 6762 §16).
 */
import { randomBytes } from 'node:crypto'

export const SERVICE_TYPE = '_meshpad._tcp.local'
/** DNS-SD service type enumeration (RFC 6763 §9). */
export const SERVICE_ENUMERATION = '_services._dns-sd._udp.local'
export const MDNS_PORT = 5353
/** The TXT `v=` this code speaks. Hints of another version are not compared. */
export const PROTOCOL_VERSION = '1'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** `meshpad-` + 8 random base32 characters (40 bits): a fresh, unlinkable name per launch. */
export function randomInstanceName(random: (bytes: number) => Uint8Array = randomBytes): string {
  const bytes = random(5)
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return `meshpad-${out}`
}

export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

/** The full service instance name of an instance label. */
export const instanceFullName = (instance: string): string => `${instance}.${SERVICE_TYPE}`

/** Our own host name for an instance (its SRV target and A record owner). */
export const instanceHostName = (instance: string): string => `${instance}.local`

const SUFFIX = `.${SERVICE_TYPE}`
const textEncoder = new TextEncoder()

/**
 * The instance label of a full Meshpad service instance name, or null when the name is not one:
 * 1..63 bytes (one DNS label, RFC 6763 §4.1.1), no control characters.
 */
export function instanceOf(fullName: unknown): string | null {
  if (typeof fullName !== 'string' || fullName.length > 255) return null
  if (!fullName.toLowerCase().endsWith(SUFFIX)) return null
  const label = fullName.slice(0, -SUFFIX.length)
  return isLabel(label) ? label : null
}

export function isLabel(label: string): boolean {
  const bytes = textEncoder.encode(label).length
  // eslint-disable-next-line no-control-regex
  return bytes >= 1 && bytes <= 63 && !/[\u0000-\u001f\u007f]/.test(label)
}

/** A host name fit to be an SRV target: `label(.label)*.local`, each label a plain host label. */
export function isLocalHostName(name: unknown): name is string {
  if (typeof name !== 'string' || name.length > 253) return false
  const labels = name.split('.')
  if (labels.length < 2 || labels.at(-1)!.toLowerCase() !== 'local') return false
  return labels.slice(0, -1).every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(l))
}
