import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

export const ARTIFACTS = fileURLToPath(new URL('../artifacts/e2e/', import.meta.url));

/** Polls `check` (which throws or returns false while not yet true) until it holds; fails saying what was awaited. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
      last = 'condition false';
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The demo page, driven the way a person uses it. */
export class DemoPage {
  constructor(
    readonly page: Page,
    readonly name: string,
  ) {}

  async open(url: string): Promise<void> {
    await this.page.goto(url);
  }

  async join(session: string): Promise<void> {
    await this.page.fill('#join-name', this.name);
    await this.page.fill('#join-session', session);
    await this.page.click('[data-testid=join]');
    await eventually(`${this.name} to be connected`, async () => (await this.state()) === 'connected');
  }

  state(): Promise<string | null> {
    return this.page.getAttribute('[data-testid=state]', 'data-state');
  }

  /** `{kind, text}` of the connection banner, or null when hidden. */
  banner(): Promise<{ kind: string; text: string } | null> {
    return this.page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('[data-testid=banner]');
      return el && !el.hidden ? { kind: el.dataset.kind ?? '', text: el.textContent?.trim() ?? '' } : null;
    });
  }

  /** Each participant's state as this page shows it, by name. */
  participants(): Promise<Record<string, string>> {
    return this.page.evaluate(() =>
      Object.fromEntries(
        Array.from(document.querySelectorAll<HTMLElement>('[data-testid=participant]')).map((el) => [
          el.dataset.name ?? '',
          el.dataset.state ?? '',
        ]),
      ),
    );
  }

  meter(): Promise<{ drops: number; awaySeconds: number }> {
    return this.page.evaluate(() => ({
      drops: Number(document.querySelector('[data-testid=drops]')?.textContent),
      awaySeconds: parseFloat(document.querySelector('[data-testid=away]')?.textContent ?? 'NaN'),
    }));
  }

  /**
   * Whether the video of `owner` (a remote tile) really plays: it has a size, a new frame is
   * presented (requestVideoFrameCallback) and the decoded frame count rises.
   */
  video(owner: string): Promise<{
    width: number;
    height: number;
    framesBefore: number;
    framesAfter: number;
    presented: boolean;
    dropped: boolean;
  }> {
    return this.page.evaluate(async (name) => {
      const tile = Array.from(document.querySelectorAll<HTMLElement>('[data-testid=tile]')).find(
        (t) => t.dataset.name === name && !t.hasAttribute('data-self'),
      );
      const video = tile?.querySelector('video');
      if (!tile || !video) throw new Error(`no video tile for ${name}`);
      const framesBefore = video.getVideoPlaybackQuality().totalVideoFrames;
      const presented = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 1500);
        video.requestVideoFrameCallback(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      await new Promise((r) => setTimeout(r, 400));
      return {
        width: video.videoWidth,
        height: video.videoHeight,
        framesBefore,
        framesAfter: video.getVideoPlaybackQuality().totalVideoFrames,
        presented,
        dropped: tile.querySelector('[data-testid=overlay-dropped]') !== null,
      };
    }, owner);
  }

  /** Waits until `owner`'s video plays: decoded frames, not just an element. */
  async videoPlays(owner: string, timeoutMs = 20_000): Promise<void> {
    await eventually(
      `${this.name} to see ${owner}'s video playing`,
      async () => {
        const v = await this.video(owner);
        return v.width > 0 && v.presented && v.framesAfter > v.framesBefore && !v.dropped ? v : false;
      },
      timeoutMs,
    );
  }

  /** Whether `owner`'s tile shows the "reconnecting" overlay of a dropped stream. */
  videoDropped(owner: string): Promise<boolean> {
    return this.page.evaluate((name) => {
      const tile = Array.from(document.querySelectorAll<HTMLElement>('[data-testid=tile]')).find(
        (t) => t.dataset.name === name && !t.hasAttribute('data-self'),
      );
      return tile?.querySelector('[data-testid=overlay-dropped]') != null;
    }, owner);
  }

  async say(text: string): Promise<void> {
    await this.page.fill('[data-testid=chat-input]', text);
    await this.page.press('[data-testid=chat-input]', 'Enter');
  }

  /** The chat as shown: every message entry, in order. */
  messages(): Promise<{ id: string; from: string; text: string; mine: boolean; status: string }[]> {
    return this.page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('[data-testid=chat-msg]')).map((el) => ({
        id: el.dataset.id ?? '',
        from: el.querySelector('.from')?.textContent ?? '',
        text: el.querySelector('.text')?.textContent ?? '',
        mine: el.classList.contains('mine'),
        status: el.dataset.status ?? '',
      })),
    );
  }

  async screenshot(step: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = `${ARTIFACTS}${step}-${this.name.toLowerCase()}.png`;
    // From the top: a sticky header would otherwise be drawn where the page was scrolled to.
    await this.page.evaluate(() => window.scrollTo(0, 0));
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }
}
