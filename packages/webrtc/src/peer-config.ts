/**
 * What every Tether peer connection is made with.
 * - One transport for audio and video: werift's default offers one per track, and the one the
 *   answer bundled away kept its UDP sockets open after close().
 * - The given STUN/TURN servers, none by default: without the key werift asks a public STUN
 *   server (found by name) on every gathering; host candidates suffice on a LAN and for the SFU.
 */
export function peerConfig<S = never>(iceServers: S[] = []): { bundlePolicy: 'max-bundle'; iceServers: S[] } {
  return { bundlePolicy: 'max-bundle', iceServers };
}
