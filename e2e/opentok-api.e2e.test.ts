import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSessionId, createToken } from '@tether/auth';
import { startServer, type TetherServer } from '@tether/server';
import { TetherApi } from '@tether/server-sdk';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchDevice, requireChromium, type Device } from './browser.js';
import { eventually } from './demo-page.js';
import { AppServer } from './opentok-page.js';

const demoDir = fileURLToPath(new URL('../apps/demo', import.meta.url));
const sdkDir = fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url));
const opentokDir = fileURLToPath(new URL('../packages/opentok/dist/browser', import.meta.url));

type Role = 'subscriber' | 'publisher' | 'moderator';
/** What a page's script sees: `OT` and whatever the test keeps on `window`. */
type W = Window & { OT: any; [key: string]: any };

/**
 * OpenTok's page behaviour and API details, one Chromium with two pages (no network faults):
 * widget placement and size, event forms, cancelled default actions, moderation, errors.
 */
describe('OpenTok API on /sdk/opentok.js in Chromium', () => {
  let server: TetherServer;
  let app: AppServer;
  let dataDir: string;
  let device: Device;
  let a: Page;
  let b: Page;
  let sessionId: string;
  let blankUrl: string;
  const pageErrors: string[] = [];

  const token = (role: Role, data: string) => createToken({ ...server.devProject!, sessionId, role, data });

  beforeAll(async () => {
    requireChromium();
    if (!existsSync(join(opentokDir, 'opentok.js')))
      throw new Error(`${opentokDir}/opentok.js is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-otapi-'));
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
      demo: { dir: demoDir, sdkDir, opentokDir },
    });
    sessionId = createSessionId({ ...server.devProject!, mediaMode: 'routed' });
    app = await AppServer.start();
    const url = (blankUrl = app.page(
      '/blank.html',
      `<!doctype html><html><head><script src="${server.url}/sdk/opentok.js"></script></head>` +
        `<body><div id="box"><div id="target"></div></div></body></html>`,
    ));
    device = await launchDevice({ viewport: { width: 1000, height: 700 } });
    a = device.page;
    b = await device.context.newPage();
    for (const p of [a, b]) {
      p.on('pageerror', (err) => pageErrors.push(err.message));
      await p.goto(url);
    }
  }, 60_000);

  afterAll(async () => {
    await device?.close();
    await app?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Connects `window[name]` on `page` with a token of `role`; resolves with the callback's error or null. */
  async function connect(page: Page, name: string, role: Role): Promise<unknown> {
    const t = await token(role, name);
    return page.evaluate(
      ([n, sid, tok]) =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          const s = (w[n] = w.OT.initSession('key', sid));
          w[`${n}Log`] = [];
          w[`${n}Streams`] = [];
          s.on('streamCreated', (e: any) => {
            w[`${n}Log`].push(['streamCreated', e.stream.name]);
            w[`${n}Streams`].push(e.stream);
          });
          s.on('sessionDisconnected', (e: any) => w[`${n}Log`].push(['sessionDisconnected', e.reason]));
          s.on('connectionDestroyed', (e: any) => w[`${n}Log`].push(['connectionDestroyed', e.reason]));
          s.connect(tok, (err: any) => resolve(err ? { name: err.name, code: err.code } : null));
        }),
      [name, sessionId, t] as const,
    );
  }

  it('places widgets as OpenTok does: insertMode, width/height (numbers, CSS strings, default 264×198), insertDefaultUI: false', async () => {
    const placed = await a.evaluate(async () => {
      const OT = (window as unknown as W).OT;
      const box = document.getElementById('box')!;
      const ready = (p: any) => new Promise((r) => p.once('videoElementCreated', r));
      const appended = OT.initPublisher('box', { insertMode: 'append', width: 200, height: '150px' });
      const before = OT.initPublisher('target', { insertMode: 'before' });
      const after = OT.initPublisher(document.getElementById('target'), {
        insertMode: 'after',
        width: '50%',
      });
      const replaced = OT.initPublisher('target', { name: 'Me' });
      let bareElement: any = null;
      const bare = OT.initPublisher(undefined, { insertDefaultUI: false });
      bare.on('videoElementCreated', (e: any) => (bareElement = e.element));
      await Promise.all([appended, before, after, replaced, bare].map(ready));
      const size = (el: HTMLElement) => [
        Math.round(el.getBoundingClientRect().width),
        Math.round(el.getBoundingClientRect().height),
      ];
      const result = {
        order: Array.from(box.children).map(
          (c) => `${c.id === 'target' ? 'target' : c.className.split(' ')[1]}`,
        ),
        ids: Array.from(box.children).map((c) => c.id),
        appended: size(appended.element),
        before: size(before.element),
        afterWidth: after.element.style.width,
        replacedIsTarget: replaced.element.id === 'target' && replaced.id === 'target',
        replacedName: replaced.element.querySelector('.OT_name').textContent,
        bare: {
          element: bare.element ?? null,
          video: bareElement?.tagName,
          videoClass: bareElement?.className,
          inPage: document.contains(bareElement),
          widgets: document.querySelectorAll('.OT_publisher').length,
        },
      };
      for (const p of [appended, before, after, replaced, bare]) p.destroy();
      return {
        ...result,
        leftAfterDestroy: document.querySelectorAll('.OT_publisher').length,
        box: box.children.length,
      };
    });
    // before, target (now the replacing widget), after, then the appended one.
    expect(placed.order).toEqual(['OT_publisher', 'target', 'OT_publisher', 'OT_publisher']);
    expect(placed.ids[1]).toBe('target');
    expect(placed.appended).toEqual([200, 150]);
    expect(placed.before).toEqual([264, 198]);
    expect(placed.afterWidth).toBe('50%');
    expect(placed.replacedIsTarget).toBe(true);
    expect(placed.replacedName).toBe('Me');
    expect(placed.bare).toEqual({
      element: null,
      video: 'VIDEO',
      videoClass: 'OT_video-element',
      inPage: false,
      widgets: 4,
    });
    expect(placed.leftAfterDestroy).toBe(0);
    expect(placed.box).toBe(0);
  }, 30_000);

  it('calls connect’s callback once with OT_AUTHENTICATION_ERROR (1004) for a bad token', async () => {
    const result = await a.evaluate(
      (sid) =>
        new Promise((resolve) => {
          const s = (window as unknown as W).OT.initSession('key', sid);
          const errs: unknown[] = [];
          s.connect('not-a-token', (err: any) => {
            errs.push({ name: err.name, code: err.code, isError: err instanceof Error });
            setTimeout(() => resolve(errs), 300);
          });
        }),
      sessionId,
    );
    expect(result).toEqual([{ name: 'OT_AUTHENTICATION_ERROR', code: 1004, isError: true }]);
  }, 30_000);

  it('a moderator sees others’ streams, cancels streamDestroyed to keep the element, force-unpublishes and force-disconnects', async () => {
    expect(await connect(a, 'mod', 'moderator')).toBeNull();
    expect(await connect(b, 'pub', 'publisher')).toBeNull();
    expect(await a.evaluate(() => (window as unknown as W).mod.capabilities)).toEqual({
      forceDisconnect: 1,
      forceUnpublish: 1,
      forceMute: 0,
      publish: 1,
      subscribe: 1,
    });
    expect((await b.evaluate(() => (window as unknown as W).pub.capabilities)).forceDisconnect).toBe(0);

    // pub publishes; mod subscribes in its streamCreated handler, as OpenTok apps do.
    await a.evaluate(() => {
      const w = window as unknown as W;
      w.mod.on('streamCreated', (e: any) => {
        w.sub = w.mod.subscribe(
          e.stream,
          'box',
          { insertMode: 'append' },
          (err: any) => (w.subErr = err ?? null),
        );
        w.sub.on('videoDisabled', (ev: any) => w.modLog.push(['videoDisabled', ev.reason]));
        w.sub.on('destroyed', (ev: any) => w.modLog.push(['subscriberDestroyed', ev.reason]));
      });
      w.mod.on('streamPropertyChanged', (e: any) =>
        w.modLog.push(['streamPropertyChanged', e.changedProperty, e.newValue]),
      );
      w.mod.on('streamDestroyed', (e: any) => {
        w.modLog.push(['streamDestroyed', e.reason, w.mod.getSubscribersForStream(e.stream).length]);
        e.preventDefault();
      });
    });
    const published = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.pubber = w.pub.publish('box', { name: 'Pat', insertMode: 'append' }, (err: any) =>
            resolve({ err: err ?? null, own: w.pub.getPublisherForStream(w.pubber.stream) === w.pubber }),
          );
        }),
    );
    expect(published).toEqual({ err: null, own: true });
    await eventually('mod to play Pat', () =>
      a.evaluate(
        () =>
          (window as unknown as W).subErr === null && !document.querySelector('.OT_subscriber.OT_loading'),
      ),
    );
    expect(await a.evaluate(() => (window as unknown as W).modLog[0])).toEqual(['streamCreated', 'Pat']);

    await b.evaluate(() => (window as unknown as W).pubber.publishVideo(false));
    await eventually('mod to see the video turned off', async () =>
      JSON.stringify(await a.evaluate(() => (window as unknown as W).modLog)).includes(
        '"videoDisabled","publishVideo"',
      ),
    );
    expect(await a.evaluate(() => (window as unknown as W).modLog.slice(1, 3))).toEqual([
      ['streamPropertyChanged', 'hasVideo', false],
      ['videoDisabled', 'publishVideo'],
    ]);

    const forced = await a.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.mod.forceUnpublish(w.sub.stream, (err: any) => resolve(err ?? null));
        }),
    );
    expect(forced).toBeNull();
    await eventually(
      'mod to see the stream destroyed',
      async () => (await a.evaluate(() => (window as unknown as W).modLog.length)) >= 5,
    );
    const after = await a.evaluate(() => ({
      log: (window as unknown as W).modLog.slice(3),
      kept: document.querySelectorAll('#box > .OT_subscriber').length,
    }));
    expect(after.log).toEqual([
      ['streamDestroyed', 'forceUnpublished', 1],
      ['subscriberDestroyed', 'forceUnpublished'],
    ]);
    // preventDefault() kept the subscriber's element on the page.
    expect(after.kept).toBe(1);

    // A publisher may not force; a moderator may.
    const refused = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.pub.forceDisconnect(w.pub.connection, (err: any) => resolve({ name: err.name, code: err.code }));
        }),
    );
    expect(refused).toEqual({ name: 'OT_PERMISSION_DENIED', code: 1520 });
    const pubConnection = await b.evaluate(() => (window as unknown as W).pub.connection.connectionId);
    await a.evaluate(
      (id) =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.mod.forceDisconnect({ connectionId: id }, resolve);
        }),
      pubConnection,
    );
    await eventually('pub to be disconnected by force', async () =>
      JSON.stringify(await b.evaluate(() => (window as unknown as W).pubLog)).includes('forceDisconnected'),
    );
    await eventually('mod to see pub’s connection destroyed', async () =>
      JSON.stringify(await a.evaluate(() => (window as unknown as W).modLog)).includes(
        '"connectionDestroyed","forceDisconnected"',
      ),
    );
  }, 60_000);

  it('refuses what OpenTok refuses, with its codes: publish before connect (1010), publish as a subscriber (1500), a signal too large (400)', async () => {
    const early = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          const s = w.OT.initSession('key', 'x');
          let calls = 0;
          // The callback may use what publish() returned: it is called after it returns.
          const publisher = s.publish('box', { insertMode: 'append' }, (err: any) => {
            calls++;
            const returned = publisher !== undefined;
            setTimeout(() => resolve({ name: err.name, code: err.code, calls, returned }), 200);
          });
        }),
    );
    expect(early).toEqual({ name: 'OT_NOT_CONNECTED', code: 1010, calls: 1, returned: true });
    expect(await connect(b, 'viewer', 'subscriber')).toBeNull();
    const denied = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.viewer.publish('box', { insertMode: 'append' }, (err: any) =>
            resolve(err && { name: err.name, code: err.code }),
          );
        }),
    );
    expect(denied).toEqual({ name: 'OT_PERMISSION_DENIED', code: 1500 });
    const tooLarge = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.viewer.signal({ type: 'chat', data: 'x'.repeat(9000) }, (err: any) =>
            resolve({ name: err.name, code: err.code }),
          );
        }),
    );
    expect(tooLarge).toEqual({ name: 'OT_INVALID_PARAMETER', code: 400 });
    // An untyped signal reaches 'signal' listeners with type 'signal'.
    const untyped = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.viewer.on('signal', (e: any) => resolve([e.type, e.data, e.from === w.viewer.connection]));
          w.viewer.signal({ data: 'plain' });
        }),
    );
    expect(untyped).toEqual(['signal', 'plain', true]);
    // on/once/off with a context, and the map form; `this` is the context.
    const calls = await b.evaluate(async () => {
      const w = window as unknown as W;
      const ctx = { calls: [] as unknown[] };
      function onX(this: typeof ctx, e: any) {
        this.calls.push([e.type, e.target === w.viewer, e.cancelable, e.isDefaultPrevented()]);
      }
      w.viewer.on('signal:x', onX, ctx);
      w.viewer.once(
        {
          'signal:x': function (this: typeof ctx) {
            this.calls.push('once');
          },
        },
        ctx,
      );
      const send = () => new Promise((r) => w.viewer.signal({ type: 'x', data: '' }, r));
      const arrived = (n: number) =>
        new Promise<void>((r) => {
          let seen = 0;
          const count = () => {
            if (++seen === n) {
              w.viewer.off('signal:x', count);
              r();
            }
          };
          w.viewer.on('signal:x', count);
        });
      let wait = arrived(2);
      await send();
      await send();
      await wait;
      w.viewer.off('signal:x', onX, ctx);
      wait = arrived(1);
      await send();
      await wait;
      return ctx.calls;
    });
    expect(calls).toEqual([['signal:x', true, false, false], 'once', ['signal:x', true, false, false]]);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('cancelling sessionDisconnected keeps the subscribers’ elements, cancelling a publisher’s streamDestroyed keeps the publisher', async () => {
    expect(await connect(a, 'host', 'publisher')).toBeNull();
    const published = await a.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.hal = w.host.publish('box', { name: 'Hal', insertMode: 'append' }, (err: any) =>
            resolve(err ?? null),
          );
          w.hal.on('streamDestroyed', (e: any) => {
            w.halLog = [e.reason, e.cancelable];
            e.preventDefault();
          });
          w.hal.on('destroyed', () => w.halLog.push('destroyed'));
        }),
    );
    expect(published).toBeNull();
    expect(await connect(b, 'watcher', 'subscriber')).toBeNull();
    await eventually('watcher to see Hal’s stream', () =>
      b.evaluate(() => (window as unknown as W).watcherStreams.length === 1),
    );
    const subscribed = await b.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          w.watcherSub = w.watcher.subscribe(
            w.watcherStreams[0],
            'box',
            { insertMode: 'append' },
            (err: any) => resolve(err ?? null),
          );
        }),
    );
    expect(subscribed).toBeNull();
    const kept = await b.evaluate(async () => {
      const w = window as unknown as W;
      const el = w.watcherSub.element;
      w.watcher.on('sessionDisconnected', (e: any) => e.preventDefault());
      const destroyed = new Promise((r) => w.watcherSub.once('destroyed', (e: any) => r(e.reason)));
      w.watcher.disconnect();
      const reason = await destroyed;
      await new Promise((r) => setTimeout(r, 100));
      return { reason, inPage: document.contains(el) };
    });
    expect(kept).toEqual({ reason: 'clientDisconnected', inPage: true });

    const publisherKept = await a.evaluate(async () => {
      const w = window as unknown as W;
      const el = w.hal.element;
      w.host.unpublish(w.hal);
      await new Promise((r) => setTimeout(r, 300));
      const afterUnpublish = {
        log: [...w.halLog],
        inPage: document.contains(el),
        stream: w.hal.stream ?? null,
      };
      w.hal.destroy();
      return { afterUnpublish, afterDestroy: { log: w.halLog, inPage: document.contains(el) } };
    });
    expect(publisherKept).toEqual({
      afterUnpublish: { log: ['clientDisconnected', true], inPage: true, stream: null },
      afterDestroy: { log: ['clientDisconnected', true, 'destroyed'], inPage: false },
    });
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('shares a screen with videoSource: "screen": others get a stream of videoType screen and play it', async () => {
    const capability = await a.evaluate(() => (window as unknown as W).OT.checkScreenSharingCapability());
    expect(capability).toMatchObject({ supported: true, supportedSources: { screen: true } });
    await b.evaluate(() => {
      const w = window as unknown as W;
      w.screens = [];
      w.viewer.on('streamCreated', (e: any) => {
        if (e.stream.videoType !== 'screen') return;
        w.screens.push(e.stream.name);
        w.screenSub = w.viewer.subscribe(
          e.stream,
          'box',
          { insertMode: 'append' },
          (err: any) => (w.screenErr = err ?? null),
        );
      });
    });
    const published = await a.evaluate(
      () =>
        new Promise((resolve) => {
          const w = window as unknown as W;
          const screen = w.OT.initPublisher('box', {
            videoSource: 'screen',
            audioSource: null,
            name: 'Slides',
            insertMode: 'append',
          });
          w.mod.publish(screen, (err: any) =>
            resolve({
              err: err ?? null,
              videoType: screen.stream?.videoType,
              mirrored: screen.element.classList.contains('OT_mirrored'),
            }),
          );
        }),
    );
    expect(published).toEqual({ err: null, videoType: 'screen', mirrored: false });
    await eventually('the viewer to play the shared screen', () =>
      b.evaluate(() => {
        const w = window as unknown as W;
        const video = w.screenSub?.element?.querySelector('video');
        return w.screenErr === null && video?.videoWidth > 0;
      }),
    );
    expect(await b.evaluate(() => (window as unknown as W).screens)).toEqual(['Slides']);
  }, 30_000);

  it('tells every page of a recording: archiveStarted / archiveStopped {id, name}, and the publisher’s OT_archiving-on/off', async () => {
    for (const [page, name] of [
      [a, 'mod'],
      [b, 'viewer'],
    ] as const)
      await page.evaluate((n) => {
        const w = window as unknown as W;
        w.archiveLog = [];
        w[n].on({
          archiveStarted: (e: any) => w.archiveLog.push(['started', e.id, e.name, e.type]),
          archiveStopped: (e: any) => w.archiveLog.push(['stopped', e.id, e.name, e.type]),
        });
      }, name);
    const archiving = () =>
      a.evaluate(() =>
        [...document.querySelectorAll('.OT_publisher .OT_archiving')].map((e) =>
          e.classList.contains('OT_archiving-on') ? 'on' : 'off',
        ),
      );
    expect(await archiving()).not.toContain('on');
    const api = new TetherApi({ url: server.url, ...server.devProject! });
    const archive = await api.startArchive({ sessionId, name: 'lesson', outputMode: 'individual' });
    for (const page of [a, b])
      await eventually('archiveStarted on both pages', () =>
        page.evaluate(() => (window as unknown as W).archiveLog.length === 1),
      );
    expect(await b.evaluate(() => (window as unknown as W).archiveLog)).toEqual([
      ['started', archive.id, 'lesson', 'archiveStarted'],
    ]);
    expect(await archiving()).toContain('on');
    await api.stopArchive(archive.id);
    for (const page of [a, b])
      await eventually('archiveStopped on both pages', () =>
        page.evaluate(() => (window as unknown as W).archiveLog.length === 2),
      );
    expect(await a.evaluate(() => (window as unknown as W).archiveLog[1])).toEqual([
      'stopped',
      archive.id,
      'lesson',
      'archiveStopped',
    ]);
    expect(await archiving()).not.toContain('on');
  }, 30_000);

  it('a camera the user refuses: accessDenied, and the callback gets OT_USER_MEDIA_ACCESS_DENIED (1500), once', async () => {
    // Without the fake UI, headless Chromium refuses the camera as a user clicking "Block" does.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream'],
    });
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(blankUrl);
      const seen = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const OT = (window as unknown as W).OT;
            const events: string[] = [];
            const errors: unknown[] = [];
            const publisher = OT.initPublisher('box', { insertMode: 'append' }, (err: any) => {
              errors.push({ name: err?.name, code: err?.code });
              setTimeout(() => resolve({ events, errors, accessAllowed: publisher.accessAllowed }), 200);
            });
            publisher.on('accessDenied', () => events.push('accessDenied'));
            publisher.on('accessAllowed', () => events.push('accessAllowed'));
          }),
      );
      expect(seen).toEqual({
        events: ['accessDenied'],
        errors: [{ name: 'OT_USER_MEDIA_ACCESS_DENIED', code: 1500 }],
        accessAllowed: false,
      });
    } finally {
      await browser.close();
    }
  }, 30_000);
});
