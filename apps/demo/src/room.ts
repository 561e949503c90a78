import type { ConnectionInfo, Publisher, Session, StreamInfo, Subscriber } from '@tether/client';
import type { JoinTicket } from './api.js';
import { Banner } from './banner.js';
import { ChatLog } from './chat.js';
import { byId } from './dom.js';
import { AwayMeter } from './meter.js';
import { ParticipantList, type Participant } from './participants.js';
import { RecordingView } from './recording.js';
import { reasonText } from './texts.js';
import { VideoGrid, type Tile } from './video-grid.js';

export interface RoomOptions {
  name: string;
  sessionName: string;
  ticket: JoinTicket;
  /** Camera and microphone, when the user allowed them. */
  media: MediaStream | undefined;
  banner: Banner;
  /** The session ended: offer to join again. */
  onEnded: (rejoin: boolean) => void;
}

const CHAT = 'chat';

/**
 * One joined session on screen: wires the SDK's events to the views. Everything the user
 * sees about the connection comes from an SDK event; nothing is guessed from timers.
 */
export class Room {
  readonly session: Session;
  private readonly people = new ParticipantList();
  private readonly grid = new VideoGrid();
  private readonly chat = new ChatLog();
  private readonly meter = new AwayMeter();
  private readonly subscribers = new Map<string, Subscriber>();
  private publisher: Publisher | undefined;
  private selfTile: Tile | undefined;
  private sent = 0;
  private readonly recording: RecordingView;

  constructor(private readonly options: RoomOptions) {
    const { Session } = window.Tether;
    // recover: a reload of this tab resumes the same connection instead of joining again.
    this.session = new Session({
      url: options.ticket.url,
      sessionId: options.ticket.sessionId,
      recover: true,
    });
    this.recording = new RecordingView(this.session, options.ticket.sessionId, options.ticket.dev === true);
    this.wire();
  }

  async join(): Promise<void> {
    this.chat.clear();
    this.grid.clear();
    this.renderState();
    await this.session.connect(this.options.ticket.token);
    if (this.options.media) await this.publish(this.options.media);
  }

  leave(): void {
    this.recording.close();
    this.session.disconnect();
  }

  /** Sends a chat message to everyone; it shows at once and says when the server has it. */
  async say(text: string): Promise<void> {
    const self = this.session.connection;
    const id = `${self?.connectionId ?? 'me'}-${++this.sent}-${Math.random().toString(36).slice(2, 8)}`;
    const queued = this.session.state === 'reconnecting';
    this.chat.add({
      id,
      from: this.options.name,
      text,
      at: Date.now(),
      mine: true,
      status: queued ? 'queued' : 'sending',
    });
    try {
      await this.session.signal({ type: CHAT, data: JSON.stringify({ id, text }) });
      this.chat.setStatus(id, 'sent');
    } catch (err) {
      this.chat.setStatus(id, 'failed', (err as Error).message);
    }
  }

  async setMic(on: boolean): Promise<void> {
    await this.publisher?.publishAudio(on);
    this.refreshSelfFlags();
  }

  async setCamera(on: boolean): Promise<void> {
    await this.publisher?.publishVideo(on);
    this.selfTile?.setVideoOn(on);
    this.refreshSelfFlags();
  }

  get publishing(): boolean {
    return this.publisher !== undefined;
  }

  // ------------------------------------------------------------------ events

  private wire(): void {
    const s = this.session;
    s.on('sessionConnected', () => {
      this.chat.system(`You joined ${this.options.sessionName}.`);
      this.renderState();
    });
    s.on('sessionReconnecting', ({ cause }) => {
      const at = Date.now();
      this.meter.lost(at);
      this.options.banner.reconnecting(cause, at);
      this.renderState();
    });
    s.on('sessionReconnected', ({ rejoined }) => {
      const ms = this.meter.back(Date.now());
      this.options.banner.reconnected(ms, rejoined);
      this.renderState();
    });
    s.on('sessionDisconnected', ({ reason, code }) => {
      this.meter.back(Date.now());
      for (const key of this.subscribers.keys()) this.grid.remove(key);
      this.subscribers.clear();
      this.stopMedia();
      this.renderState();
      if (reason === 'clientDisconnected') {
        this.options.banner.hide();
        this.options.onEnded(false);
        return;
      }
      this.chat.system(`Disconnected: ${reasonText(reason)}`);
      this.options.banner.disconnected(reason, code, () => this.options.onEnded(true));
    });
    s.on('roomStateUpdate', () => this.renderState());

    s.on('connectionCreated', ({ connection }) => {
      this.chat.system(`${nameOf(connection)} joined.`);
      this.renderPeople();
    });
    s.on('connectionDestroyed', ({ connection, reason }) => {
      this.chat.system(`${nameOf(connection)} left${reason === 'clientDisconnected' ? '' : ` (${reason})`}.`);
      this.renderPeople();
    });
    s.on('connectionReconnecting', ({ connection }) => {
      this.chat.system(`${nameOf(connection)} lost their connection — reconnecting…`);
      this.renderPeople();
    });
    s.on('connectionReconnected', ({ connection }) => {
      this.chat.system(`${nameOf(connection)} is back.`);
      this.renderPeople();
    });

    s.on('streamCreated', ({ stream }) => {
      this.renderPeople();
      void this.subscribe(stream);
    });
    s.on('streamDestroyed', ({ stream }) => {
      this.subscribers.delete(stream.streamId);
      this.grid.remove(stream.streamId);
      this.renderPeople();
    });
    s.on('streamPropertyChanged', ({ stream }) => {
      const tile = this.grid.get(stream.streamId);
      tile?.setVideoOn(stream.hasVideo);
      tile?.setFlags(flags(stream));
    });

    s.on(`signal:${CHAT}`, ({ from, data }) => {
      const { id, text } = parseChat(data);
      const mine = from !== null && from.connectionId === s.connection?.connectionId;
      // My own message comes back from the server once: it confirms the one already shown.
      if (mine && this.chat.setStatus(id, 'sent')) return;
      this.chat.add({ id, from: from ? nameOf(from) : 'Server', text, at: Date.now(), mine });
    });
    s.on('exception', ({ code, message }) => console.warn(`[tether] ${code}: ${message}`));
    for (const name of [
      'sessionReconnecting',
      'sessionReconnected',
      'sessionDisconnected',
      'connectionReconnecting',
      'connectionReconnected',
    ] as const)
      s.on(name, (event) => trace(`${name} ${JSON.stringify(event)}`));
  }

  // ------------------------------------------------------------------ media

  private async publish(media: MediaStream): Promise<void> {
    const tile = this.grid.add('self', this.options.name, true);
    this.selfTile = tile;
    tile.setTracks(media.getVideoTracks());
    const publisher = this.session.initPublisher({ name: this.options.name, tracks: media.getTracks() });
    this.publisher = publisher;
    publisher.on('stateChanged', ({ state, code }) => {
      trace(`publisher ${state}${code ? ` (${code})` : ''}`);
      if (state === 'publishing') tile.setDropped(undefined);
      else if (state === 'publishRequesting' && this.session.state === 'connected' && publisher.stream)
        tile.setDropped('Your video is not reaching the server — reconnecting…');
      else if (state === 'noPublish' && code)
        tile.setDropped(`Your video stopped (${code}) — publishing again when the network is back…`);
      this.renderPeople();
    });
    try {
      await this.session.publish(publisher);
      tile.setDropped(undefined);
    } catch (err) {
      tile.setDropped(`Could not publish: ${(err as Error).message}`);
    }
    this.renderPeople();
  }

  private async subscribe(stream: StreamInfo): Promise<void> {
    const s = this.session;
    if (stream.connectionId === s.connection?.connectionId || this.subscribers.has(stream.streamId)) return;
    const owner = s.connections.find((c) => c.connectionId === stream.connectionId);
    const tile = this.grid.add(stream.streamId, owner ? nameOf(owner) : stream.name || 'Guest');
    tile.setVideoOn(stream.hasVideo);
    tile.setFlags(flags(stream));
    let sub: Subscriber;
    for (let attempt = 0; ; attempt++) {
      try {
        sub = await s.subscribe(stream);
        break;
      } catch (err) {
        const gone =
          this.grid.get(stream.streamId) !== tile || !s.streams.some((x) => x.streamId === stream.streamId);
        if (gone) return;
        // A routed stream is announced before its publisher's media reaches the server, and a
        // subscribe in that gap is refused with STREAM_NOT_FOUND: try again for a few seconds.
        if ((err as { code?: string }).code === 'STREAM_NOT_FOUND' && attempt < 12) {
          await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2000)));
          continue;
        }
        const code = (err as { code?: string }).code;
        console.warn(`[demo] subscribe to ${stream.streamId} failed:`, err);
        tile.setFailed(
          code
            ? `Could not play this video (${code}).`
            : `Could not play this video: ${(err as Error).message}`,
          () => void this.subscribe(stream),
        );
        return;
      }
    }
    if (this.grid.get(stream.streamId) !== tile) {
      s.unsubscribe(sub); // the stream went away while we were subscribing
      return;
    }
    this.subscribers.set(stream.streamId, sub);
    tile.setTracks(sub.tracks);
    sub.on('track', () => tile.setTracks(sub.tracks));
    sub.on('disconnected', ({ cause }) => {
      trace(`subscriber of ${tileName(tile)}: disconnected (${cause})`);
      tile.setDropped(
        cause === 'publisher'
          ? `${tileName(tile)}'s video dropped — reconnecting…`
          : cause === 'server'
            ? 'The server moved this video to another node — reconnecting…'
            : 'Your connection dropped — reconnecting video…',
      );
    });
    sub.on('connected', () => {
      trace(`subscriber of ${tileName(tile)}: connected`);
      tile.setDropped(undefined);
    });
    sub.on('destroyed', () => {
      // Ended by the SDK (a rejoin replaces every subscription): forget it, so the stream can be subscribed again.
      if (this.subscribers.get(stream.streamId) === sub) this.subscribers.delete(stream.streamId);
    });
    sub.on('stateChanged', ({ state, code }) => {
      trace(`subscriber of ${tileName(tile)}: ${state}${code ? ` (${code})` : ''}`);
      if (state === 'playing') tile.setDropped(undefined);
      else if (state === 'noPlay' && code)
        tile.setDropped(`Video lost (${code}) — resubscribing when the network is back…`);
    });
  }

  private stopMedia(): void {
    for (const track of this.options.media?.getTracks() ?? []) track.stop();
    this.grid.remove('self');
    this.publisher = undefined;
    this.selfTile = undefined;
  }

  private refreshSelfFlags(): void {
    const stream = this.publisher?.stream;
    if (stream) this.selfTile?.setFlags(flags(stream));
  }

  // ------------------------------------------------------------------ rendering

  private renderState(): void {
    const pill = byId('state-pill');
    pill.dataset.state = this.session.state;
    pill.textContent = this.session.state;
    this.renderPeople();
  }

  private renderPeople(): void {
    const s = this.session;
    const selfId = s.connection?.connectionId;
    const publishing = new Set(s.streams.map((st) => st.connectionId));
    const people: Participant[] = s.connections.map((c) => ({
      connectionId: c.connectionId,
      name: nameOf(c),
      self: c.connectionId === selfId,
      state: c.connectionId === selfId ? selfState(s.state) : c.reconnecting ? 'reconnecting' : 'connected',
      publishing:
        c.connectionId === selfId
          ? this.publisher?.state === 'publishing' || this.publisher?.state === 'publishRequesting'
          : publishing.has(c.connectionId),
    }));
    this.people.render(people);
    for (const [streamId, sub] of this.subscribers) {
      const owner = s.connections.find((c) => c.connectionId === sub.stream.connectionId);
      this.grid.get(streamId)?.el.toggleAttribute('data-owner-reconnecting', Boolean(owner?.reconnecting));
    }
  }
}

/** The connection's story, for whoever opens the console. */
function trace(what: string): void {
  console.info(`[tether] ${what}`);
}

function selfState(state: Session['state']): Participant['state'] {
  return state;
}

function nameOf(connection: ConnectionInfo): string {
  return connection.data.trim() || 'Guest';
}

function tileName(tile: Tile): string {
  return tile.el.dataset.name ?? 'Their';
}

function flags(stream: StreamInfo): string {
  return [!stream.hasAudio && 'muted', !stream.hasVideo && 'camera off'].filter(Boolean).join(' · ');
}

/** Chat data is `{id, text}` JSON; anything else (a server API signal, another app) is shown as text. */
function parseChat(data: string): { id: string; text: string } {
  try {
    const parsed = JSON.parse(data) as { id?: unknown; text?: unknown };
    if (typeof parsed.id === 'string' && typeof parsed.text === 'string')
      return { id: parsed.id, text: parsed.text };
  } catch {
    // plain text
  }
  return { id: `plain-${Math.random().toString(36).slice(2)}`, text: data };
}
