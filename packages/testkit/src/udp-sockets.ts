import fs from 'node:fs';

/**
 * UDP sockets open in this process: its socket descriptors that /proc lists as UDP (v4 or v6)
 * in its network namespace. Counts unref'd sockets too, unlike process.getActiveResourcesInfo().
 */
export function udpSocketCount(): number {
  const inodes = new Set<string>();
  for (const file of ['/proc/self/net/udp', '/proc/self/net/udp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inodes.add(inode);
    }
  }
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1]!)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
