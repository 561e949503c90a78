import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, headless Chromium with a fake camera and microphone that need no prompt. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Fails (never skips) when Debian's Chromium is missing, saying how to install it. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the end-to-end tests need it. ` +
        'Install it with `apt-get update && apt-get install -y chromium` (as root; .ci/run does this).',
    );
}

export interface Device {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * One browser per person, each with a fresh profile: like two devices, each with its own
 * network state (`context.setOffline`) and its own WebRTC sockets.
 */
export async function launchDevice(options: {
  viewport: { width: number; height: number };
  initScript?: string;
}): Promise<Device> {
  requireChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: options.viewport,
    permissions: ['camera', 'microphone'],
  });
  if (options.initScript) await context.addInitScript(options.initScript);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
