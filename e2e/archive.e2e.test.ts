import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, type TetherServer } from '@tether/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchDevice, requireChromium, type Device } from './browser.js';
import { ARTIFACTS, DemoPage, eventually } from './demo-page.js';

const demoDir = fileURLToPath(new URL('../apps/demo', import.meta.url));
const sdkDir = fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url));
const run = promisify(execFile);

/**
 * Recording from the demo page, in two real Chromiums (fake camera and microphone) on the
 * development project: Alice presses Record, both see the Recording pill, she stops, the
 * archive list offers the composed file, and what it downloads is a VP8/Opus WebM that
 * decodes whole — a recording of what a browser publishes.
 */
describe('demo page: recording', () => {
  let server: TetherServer;
  let dataDir: string;
  let devices: Device[] = [];

  beforeAll(async () => {
    requireChromium();
    for (const file of [join(demoDir, 'dist', 'app.js'), join(sdkDir, 'tether.js')])
      if (!existsSync(file))
        throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-archive-'));
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
      demo: { dir: demoDir, sdkDir },
    });
    devices = await Promise.all([
      launchDevice({ viewport: { width: 1280, height: 800 } }),
      launchDevice({ viewport: { width: 1280, height: 800 } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('Record shows everyone the Recording pill; Stop makes a composed VP8/Opus file the page links to', async () => {
    const [alice, bob] = [new DemoPage(devices[0]!.page, 'Alice'), new DemoPage(devices[1]!.page, 'Bob')];
    for (const p of [alice, bob]) await p.open(`${server.url}/?session=e2e-recorded`);
    await alice.join('e2e-recorded');
    await bob.join('e2e-recorded');
    await alice.videoPlays('Bob');
    const pill = (p: DemoPage) => p.page.isVisible('[data-testid=recording]');
    expect(await pill(alice)).toBe(false);

    await alice.page.click('[data-testid=record]');
    await eventually('the Recording pill for both', async () => (await pill(alice)) && (await pill(bob)));
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    await alice.page.click('[data-testid=record]');
    const seconds = (Date.now() - started) / 1000;
    await eventually('the pill gone for both', async () => !(await pill(alice)) && !(await pill(bob)));

    const href = await eventually(
      'a download link',
      async () => (await alice.page.getAttribute('[data-testid=archive-download]', 'href')) ?? false,
      60_000,
    );
    const res = await fetch(`${server.url}${href}`);
    expect(res.status).toBe(200);
    const path = join(dataDir, 'from-the-page.webm');
    await writeFile(path, Buffer.from(await res.arrayBuffer()));
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', path],
    ]);
    const probe = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'vp8']);
    expect(Number(probe.format.duration)).toBeGreaterThan(seconds * 0.9);
    expect(Number(probe.format.duration)).toBeLessThan(seconds * 1.1);
    // Every frame decodes, and the audio's timestamps only go forward (Chromium steps its video
    // size up as its bandwidth estimate grows: composing once restarted the mix there).
    const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-f', 'null', '-']);
    const packets = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts', '-of', 'csv=p=0', path],
    ]);
    const pts = packets.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Number(l.split(',')[0]));
    const stalled = pts.filter((t, k) => k > 0 && t <= (pts[k - 1] as number)).length;
    if (stderr.trim() !== '' || stalled > 0) {
      mkdirSync(ARTIFACTS, { recursive: true });
      copyFileSync(path, join(ARTIFACTS, 'archive-from-the-page.webm'));
    }
    expect(stderr.trim()).toBe('');
    expect(stalled).toBe(0);
    // 20 ms Opus frames for as long as the file lasts.
    expect(pts.length).toBeLessThanOrEqual(Math.ceil((Number(probe.format.duration) * 1000) / 20) + 2);
    await alice.screenshot('archive-list');
  }, 120_000);
});
