import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';

/**
 * Installed in a page before its scripts run: keeps every RTCPeerConnection the page makes,
 * so the test can find the UDP ports its media uses. The SDK reads the global constructor
 * when it creates a peer, so it gets this subclass.
 */
export const TRACK_PEERS = `(() => {
  const Native = window.RTCPeerConnection;
  const peers = [];
  window.__tetherPeers = peers;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); peers.push(this); }
  };
})();`;

/** UDP ports of every local ICE candidate of the page's open peer connections. */
export async function mediaPorts(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const peers = (window as unknown as { __tetherPeers: RTCPeerConnection[] }).__tetherPeers ?? [];
    const ports = new Set<number>();
    for (const pc of peers) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s: { type: string; protocol?: string; port?: number }) => {
        if (s.type === 'local-candidate' && s.protocol === 'udp' && s.port) ports.add(s.port);
      });
    }
    return [...ports];
  });
}

/**
 * Cuts one page's WebRTC media at the kernel: every UDP datagram from or to its ports is
 * dropped (nftables, on the output hook, which loopback traffic also takes). Browsers' offline
 * emulation does not touch WebRTC, so this is what makes a cut page lose its media too.
 */
export class MediaCut {
  private readonly table = `tether_e2e_${process.pid}`;
  private active = false;

  /** Fails with how to fix it when nftables cannot be used here. */
  static check(): void {
    try {
      execFileSync('nft', ['list', 'tables'], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(
        `the media cut needs nftables and root (CAP_NET_ADMIN): \`apt-get install -y nftables\` as root (.ci/run does this). ${(err as Error).message}`,
      );
    }
  }

  cut(ports: number[]): void {
    if (ports.length === 0) throw new Error('no media ports to cut: the page has no live peer connection');
    const set = `{ ${ports.join(', ')} }`;
    this.nft(
      [
        `add table inet ${this.table}`,
        `add chain inet ${this.table} out { type filter hook output priority 0; policy accept; }`,
        `add rule inet ${this.table} out udp sport ${set} drop`,
        `add rule inet ${this.table} out udp dport ${set} drop`,
      ].join('\n'),
    );
    this.active = true;
  }

  restore(): void {
    if (!this.active) return;
    this.active = false;
    this.nft(`delete table inet ${this.table}`);
  }

  private nft(script: string): void {
    execFileSync('nft', ['-f', '-'], { input: script + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
  }
}
