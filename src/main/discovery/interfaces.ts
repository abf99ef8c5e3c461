/**
 * Which network interfaces discovery runs on, and the IPv4 arithmetic it needs. One mDNS socket per
 * usable interface: multicast membership and the outgoing multicast interface are per socket.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'

/** One IPv4 interface discovery may use (its first IPv4 address). */
export interface UsableInterface {
  readonly name: string
  readonly address: string
  readonly netmask: string
  readonly internal: boolean
}

export type NetworkInterfaceMap = NodeJS.Dict<NetworkInterfaceInfo[]>
export type InterfaceFilter = (iface: UsableInterface) => boolean

/**
 * Container and VM bridges, VPN tunnels and the like: multicast there reaches no other person's
 * device, or leaks discovery into a network it was not meant for.
 */
const VIRTUAL =
  /^(docker|veth|br-|virbr|vmnet|vboxnet|cni|flannel|cali|weave|lxc|lxdbr|podman|tun|tap|utun|wg|zt|tailscale|ham)/i

/** The default filter: up and running (os.networkInterfaces lists no others), not loopback, not virtual. */
export const defaultInterfaceFilter: InterfaceFilter = (iface) =>
  !iface.internal && !VIRTUAL.test(iface.name) && !iface.address.startsWith('127.')

/** The usable interfaces, each once, in a stable order. */
export function usableInterfaces(
  list: NetworkInterfaceMap = networkInterfaces(),
  filter: InterfaceFilter = defaultInterfaceFilter,
): UsableInterface[] {
  const out: UsableInterface[] = []
  for (const name of Object.keys(list).sort()) {
    const info = (list[name] ?? []).find((a) => a.family === 'IPv4')
    if (!info || !isIPv4(info.address)) continue
    const iface = { name, address: info.address, netmask: info.netmask, internal: info.internal }
    if (filter(iface)) out.push(iface)
  }
  return out
}

/** The interface for a pinned address (`{ interface: '127.0.0.1' }`), its netmask looked up if known. */
export function pinnedInterface(
  address: string,
  list: NetworkInterfaceMap = networkInterfaces(),
): UsableInterface {
  if (!isIPv4(address)) throw new TypeError(`discovery: interface must be an IPv4 address, got ${address}`)
  for (const [name, infos] of Object.entries(list)) {
    const info = infos?.find((a) => a.family === 'IPv4' && a.address === address)
    if (info) return { name, address, netmask: info.netmask, internal: info.internal }
  }
  return { name: address, address, netmask: '255.255.255.255', internal: address.startsWith('127.') }
}

export const interfaceKey = (iface: UsableInterface): string => `${iface.name}/${iface.address}`

export function isIPv4(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const parts = value.split('.')
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
}

export const ipv4ToInt = (address: string): number =>
  address.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0)

export function inSubnet(address: string, iface: UsableInterface): boolean {
  if (!isIPv4(address) || !isIPv4(iface.netmask)) return false
  if (iface.internal && address.startsWith('127.')) return true
  const mask = ipv4ToInt(iface.netmask)
  return ((ipv4ToInt(address) ^ ipv4ToInt(iface.address)) & mask) >>> 0 === 0
}

export const isLoopback = (address: string): boolean => address.startsWith('127.')

/** An address a peer may be dialed at: unicast IPv4, not 0/8, not multicast or reserved. */
export function isDialable(address: string): boolean {
  if (!isIPv4(address)) return false
  const first = Number(address.split('.')[0])
  return first !== 0 && first < 224
}
