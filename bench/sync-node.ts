/** What bench/sync.ts runs of Meshpad's node, bundled as it ships (bench/bundled.ts). */
export { decodeInvite } from '../src/main/node/invite-code'
export { PeerNode } from '../src/main/node/peer-node'
