import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { eventually } from './demo-page.js';

/** What a page is told by "its back end": OpenTok's three values, and a display name. */
export interface AppConfig {
  apiKey: string;
  sessionId: string;
  token: string;
  name: string;
}

/**
 * An application page written the way OpenTok's documentation writes one — plain `OT` calls,
 * OpenTok's script tag with only its URL changed — that records what it sees in `window.log`
 * for the test to read. Nothing in it knows of Tether.
 */
export function appHtml(sdkUrl: string, config: AppConfig): string {
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><title>OpenTok app</title>
<script src="${sdkUrl}"></script>
<style>body { font-family: sans-serif; } #subscribers { display: flex; gap: 8px; }</style>
</head>
<body>
<h1>${config.name}</h1>
<div id="publisher"></div>
<div id="subscribers"></div>
<script>
var APP = ${JSON.stringify(config)};
var log = (window.log = []);
function record(what, extra) {
  log.push(Object.assign({ what: what }, extra || {}));
}
function handleError(error) {
  if (error) record('error', { name: error.name, code: error.code, message: error.message });
}

OT.on('exception', function (event) {
  record('exception', { code: event.code, message: event.message });
});

var session = OT.initSession(APP.apiKey, APP.sessionId);

session.on({
  sessionConnected: function (event) {
    record('sessionConnected', { type: event.type, targetIsSession: event.target === session });
  },
  sessionReconnecting: function () {
    record('sessionReconnecting');
  },
  sessionReconnected: function () {
    record('sessionReconnected');
  },
  sessionDisconnected: function (event) {
    record('sessionDisconnected', { reason: event.reason });
  },
  connectionCreated: function (event) {
    record('connectionCreated', { data: event.connection.data, mine: event.connection === session.connection });
  },
  connectionDestroyed: function (event) {
    record('connectionDestroyed', { data: event.connection.data, reason: event.reason });
  },
  streamDestroyed: function (event) {
    record('streamDestroyed', { name: event.stream.name, reason: event.reason });
  },
});

session.on('streamCreated', function (event) {
  record('streamCreated', { name: event.stream.name, hasVideo: event.stream.hasVideo });
  var subscriber = session.subscribe(
    event.stream,
    'subscribers',
    { insertMode: 'append', width: 320, height: 240 },
    function (error) {
      if (error) handleError(error);
      else record('subscribed', { name: event.stream.name });
    },
  );
  subscriber.on('videoElementCreated', function () {
    record('subscriberVideoElementCreated', { name: event.stream.name });
  });
  subscriber.on('disconnected', function () {
    record('subscriberDisconnected', { name: event.stream.name });
  });
  subscriber.on('connected', function () {
    record('subscriberConnected', { name: event.stream.name });
  });
  subscriber.on('destroyed', function (e) {
    record('subscriberDestroyed', { name: event.stream.name, reason: e.reason });
  });
});

session.on('signal:chat', function (event) {
  record('chat', { data: event.data, from: event.from.data, mine: event.from === session.connection, type: event.type });
});

var publisher = OT.initPublisher(
  'publisher',
  { insertMode: 'append', width: 320, height: 240, name: APP.name },
  function (error) {
    if (error) handleError(error);
    else record('publisherReady');
  },
);
publisher.on({
  accessAllowed: function () {
    record('accessAllowed');
  },
  videoElementCreated: function (event) {
    record('publisherVideoElementCreated', { tag: event.element.tagName });
  },
  streamCreated: function (event) {
    record('published', { name: event.stream.name });
  },
  streamDestroyed: function (event) {
    record('unpublished', { name: event.stream.name, reason: event.reason });
  },
});

// The page's "Join" button.
window.join = function () {
  session.connect(APP.token, function (error) {
    if (error) {
      handleError(error);
    } else {
      record('connected', { publish: session.capabilities.publish });
      session.publish(publisher, handleError);
    }
  });
};

// The page's chat box: resolves with the callback's error, or null.
window.sendChat = function (text, retryAfterReconnect) {
  return new Promise(function (resolve) {
    var signal = { type: 'chat', data: text };
    if (retryAfterReconnect === false) signal.retryAfterReconnect = false;
    session.signal(signal, function (error) {
      resolve(error ? { name: error.name, code: error.code } : null);
    });
  });
};

window.leave = function () {
  session.disconnect();
};
</script>
</body>
</html>`;
}

/** The application's own web server: another origin than Tether's, as an OpenTok app's is. */
export class AppServer {
  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly pages: Map<string, string>,
  ) {}

  static async start(): Promise<AppServer> {
    const pages = new Map<string, string>();
    const server = createServer((req, res) => {
      const html = pages.get((req.url ?? '').split('?')[0] ?? '');
      if (!html) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // `localhost`: a different origin from the server's 127.0.0.1, and still a secure context for the camera.
    return new AppServer(server, `http://localhost:${(server.address() as AddressInfo).port}`, pages);
  }

  /** Serves `html` at `path`; returns its URL. */
  page(path: string, html: string): string {
    this.pages.set(path, html);
    return `${this.origin}${path}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface LogEntry {
  what: string;
  [key: string]: unknown;
}

/** One application page, read through what it recorded and what OpenTok's widgets show. */
export class OTPage {
  constructor(
    readonly page: Page,
    readonly name: string,
  ) {}

  log(): Promise<LogEntry[]> {
    return this.page.evaluate(() => (window as unknown as { log: LogEntry[] }).log);
  }

  async entries(what: string): Promise<LogEntry[]> {
    return (await this.log()).filter((e) => e.what === what);
  }

  /** Waits until the page has recorded `what` (with these fields) at least `count` times. */
  async sees(
    what: string,
    fields: Record<string, unknown> = {},
    count = 1,
    timeoutMs = 20_000,
  ): Promise<void> {
    await eventually(
      `${this.name} to record ${what} ${JSON.stringify(fields)}${count > 1 ? ` ×${count}` : ''}`,
      async () =>
        (await this.entries(what)).filter((e) => Object.entries(fields).every(([k, v]) => e[k] === v))
          .length >= count,
      timeoutMs,
    );
  }

  /** The widget elements (`selector` under the page) with their classes, size and video state. */
  widgets(selector: string): Promise<
    {
      id: string;
      classes: string[];
      width: number;
      height: number;
      videoClass: string;
      videoWidth: number;
      name: string;
    }[]
  > {
    return this.page.evaluate(
      (sel) =>
        Array.from(document.querySelectorAll<HTMLElement>(sel)).map((el) => {
          const video = el.querySelector('video');
          const rect = el.getBoundingClientRect();
          return {
            id: el.id,
            classes: Array.from(el.classList),
            width: Math.round(rect.width),
            height: Math.round(rect.height),
            videoClass: video?.className ?? '',
            videoWidth: video?.videoWidth ?? 0,
            name: el.querySelector('.OT_name')?.textContent ?? '',
          };
        }),
      selector,
    );
  }

  /** Whether the video in the widget `selector` is playing: a frame is presented and the decoded count rises. */
  async videoPlays(selector: string, timeoutMs = 20_000): Promise<void> {
    await eventually(
      `${this.name}'s ${selector} video to play`,
      () =>
        this.page.evaluate(async (sel) => {
          const video = document.querySelector<HTMLVideoElement>(`${sel} video.OT_video-element`);
          if (!video || video.videoWidth === 0) return false;
          const before = video.getVideoPlaybackQuality().totalVideoFrames;
          const presented = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 1500);
            video.requestVideoFrameCallback(() => {
              clearTimeout(timer);
              resolve(true);
            });
          });
          await new Promise((r) => setTimeout(r, 400));
          return presented && video.getVideoPlaybackQuality().totalVideoFrames > before;
        }, selector),
      timeoutMs,
    );
  }

  sendChat(text: string, retryAfterReconnect?: boolean): Promise<{ name: string; code: number } | null> {
    return this.page.evaluate(
      ([t, r]) =>
        (
          window as unknown as {
            sendChat: (t: string, r?: boolean) => Promise<{ name: string; code: number } | null>;
          }
        ).sendChat(t, r),
      [text, retryAfterReconnect] as const,
    );
  }

  /** Starts a chat send without waiting for its callback (it may wait for a reconnect). */
  async sendChatLater(text: string): Promise<void> {
    await this.page.evaluate((t) => {
      const w = window as unknown as {
        sendChat: (t: string) => Promise<unknown>;
        pendingChats?: Promise<unknown>[];
      };
      (w.pendingChats ??= []).push(w.sendChat(t));
    }, text);
  }

  /** The callbacks' results of the chats started with sendChatLater, once they have all been called. */
  pendingChats(): Promise<unknown[]> {
    return this.page.evaluate(() =>
      Promise.all((window as unknown as { pendingChats?: Promise<unknown>[] }).pendingChats ?? []),
    );
  }
}
