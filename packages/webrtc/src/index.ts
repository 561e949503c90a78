export { gatheredSdp, GATHERING_TIMEOUT_MS, type GatheringPeer } from './gathering.js';
export { resumeIceChecks } from './ice-restart.js';
export { peerConfig } from './peer-config.js';
