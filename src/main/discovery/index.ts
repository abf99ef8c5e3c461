/** LAN discovery over mDNS / DNS-SD: see README.md. */
export {
  Discovery,
  type AdvertisedService,
  type DiscoveryEvents,
  type DiscoveryOptions,
  type DiscoveryStats,
} from './discovery'
export type { DiscoveredPeer, PeerChangeType } from './peer-table'
export { advertisedHints, recognisedHints, lanHint, hintWindow, HINT_WINDOW_MS } from './hints'
export { defaultInterfaceFilter, inSubnet, type InterfaceFilter, type UsableInterface } from './interfaces'
export type { DiscoveryLog, DiscoveryLogLevel } from './log'
export { MDNS_PORT, PROTOCOL_VERSION, SERVICE_TYPE } from './service'
