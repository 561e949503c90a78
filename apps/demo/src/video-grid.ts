import { byId, h, initials } from './dom.js';

/** One video in the grid: a <video>, a name label, and an overlay saying why it does not play. */
export class Tile {
  readonly el: HTMLElement;
  readonly video: HTMLVideoElement;
  private readonly label: HTMLElement;
  private readonly flags: HTMLElement;
  private readonly avatar: HTMLElement;
  private overlay: HTMLElement | undefined;
  private overlayKind: string | undefined;
  private waitingForFrames = true;

  constructor(
    readonly key: string,
    name: string,
    self: boolean,
  ) {
    this.video = h('video', { autoplay: true, playsinline: true, 'data-testid': 'video' });
    this.video.muted = self; // never play one's own microphone back
    this.label = h('span', { 'data-testid': 'tile-name' }, self ? `${name} (you)` : name);
    this.flags = h('span', { class: 'muted-flag', hidden: true });
    this.avatar = h('div', { class: 'avatar', hidden: true }, initials(name));
    this.el = h(
      'div',
      {
        class: self ? 'tile self' : 'tile',
        'data-testid': 'tile',
        'data-key': key,
        'data-name': name,
        'data-self': self,
      },
      this.video,
      this.avatar,
      h('div', { class: 'label' }, this.label, this.flags),
    );
    this.video.addEventListener('playing', () => {
      this.waitingForFrames = false;
      if (this.overlayKind === 'waiting') this.setOverlay(undefined);
    });
    this.setOverlay('waiting', 'Connecting video…');
  }

  /** Plays these tracks (a subscriber's, or the camera's). */
  setTracks(tracks: MediaStreamTrack[]): void {
    const current = this.video.srcObject as MediaStream | null;
    const same =
      current &&
      tracks.length === current.getTracks().length &&
      tracks.every((t) => current.getTrackById(t.id));
    if (same) return;
    this.video.srcObject = new MediaStream(tracks);
    this.play();
  }

  /** The stream dropped (`why` says where) or, with undefined, plays again. */
  setDropped(why: string | undefined): void {
    if (why) this.setOverlay('dropped', why);
    else if (this.overlayKind === 'dropped')
      this.setOverlay(this.waitingForFrames ? 'waiting' : undefined, 'Connecting video…');
    this.el.dataset.dropped = String(Boolean(why));
  }

  /** Shown when playing failed for good (with a way to try again). */
  setFailed(text: string, retry: () => void): void {
    this.setOverlay('failed', text, { label: 'Try again', run: retry });
  }

  setVideoOn(on: boolean): void {
    this.avatar.hidden = on;
    this.video.style.visibility = on ? 'visible' : 'hidden';
  }

  setFlags(text: string): void {
    this.flags.textContent = text;
    this.flags.hidden = !text;
  }

  private play(): void {
    this.video.play().catch(() => {
      // Autoplay with sound needs a gesture on some browsers: ask for one.
      this.setOverlay('failed', 'Tap to play', {
        label: 'Play',
        run: () => void this.video.play().then(() => this.setOverlay(undefined)),
      });
    });
  }

  private setOverlay(kind: string | undefined, text = '', action?: { label: string; run: () => void }): void {
    this.overlay?.remove();
    this.overlay = undefined;
    this.overlayKind = kind;
    if (!kind) return;
    const button = action ? h('button', { type: 'button' }, action.label) : null;
    if (button && action) button.onclick = () => action.run();
    this.overlay = h(
      'div',
      { class: `overlay ${kind}`, 'data-testid': `overlay-${kind}` },
      h('span', {}, text),
      button,
    );
    this.el.append(this.overlay);
  }
}

/** The videos: mine first, then one per subscribed stream. */
export class VideoGrid {
  private readonly grid = byId('grid');
  private readonly tiles = new Map<string, Tile>();

  add(key: string, name: string, self = false): Tile {
    this.remove(key);
    const tile = new Tile(key, name, self);
    this.tiles.set(key, tile);
    if (self) this.grid.prepend(tile.el);
    else this.grid.append(tile.el);
    return tile;
  }

  get(key: string): Tile | undefined {
    return this.tiles.get(key);
  }

  remove(key: string): void {
    const tile = this.tiles.get(key);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.el.remove();
    this.tiles.delete(key);
  }

  clear(): void {
    for (const key of [...this.tiles.keys()]) this.remove(key);
  }
}
