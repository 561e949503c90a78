/** OpenTok's page behaviour for a publisher or subscriber: where its element goes, its size, its markup. */
export interface WidgetProperties {
  insertMode?: 'replace' | 'after' | 'before' | 'append';
  insertDefaultUI?: boolean;
  width?: string | number;
  height?: string | number;
  fitMode?: 'cover' | 'contain';
  name?: string;
  /** Publishers: mirror the preview (OpenTok's default for cameras). */
  mirror?: boolean;
}

export type WidgetKind = 'publisher' | 'subscriber';

/** OpenTok's default widget size. */
export const DEFAULT_WIDTH = 264;
export const DEFAULT_HEIGHT = 198;

let nextId = 0;

/**
 * The element OpenTok puts on the page: `div.OT_publisher` / `div.OT_subscriber`, `OT_loading`
 * until its video plays, a `video.OT_video-element`, a name bar and (publishers) the archive
 * indicator. With `insertDefaultUI: false` there is no widget, only the video element, which
 * the owner hands to the application in `videoElementCreated`.
 */
export class Widget {
  /** The widget, or undefined with `insertDefaultUI: false`. */
  readonly element: HTMLElement | undefined;
  readonly video: HTMLVideoElement;
  /** The widget's element id (the target's, in `replace` mode). */
  id: string;
  private archiving: HTMLElement | undefined;
  private removed = false;
  /** Called when playing audio was refused (autoplay policy) and the video plays muted instead. */
  onAudioBlocked: (() => void) | undefined;

  constructor(
    readonly kind: WidgetKind,
    target: HTMLElement | string | undefined,
    props: WidgetProperties,
  ) {
    this.id = `OT_${kind}_${++nextId}`;
    const video = (this.video = document.createElement('video'));
    video.className = 'OT_video-element';
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    // One's own microphone is never played back.
    video.muted = kind === 'publisher';
    video.style.objectFit = props.fitMode ?? 'cover';
    if (props.insertDefaultUI === false) {
      this.element = undefined;
      return;
    }
    const el = (this.element = document.createElement('div'));
    el.id = this.id;
    el.className = `OT_root OT_${kind} OT_loading OT_fit-mode-${props.fitMode ?? 'cover'}`;
    if (kind === 'publisher' && props.mirror !== false) el.classList.add('OT_mirrored');
    el.style.width = size(props.width, DEFAULT_WIDTH);
    el.style.height = size(props.height, DEFAULT_HEIGHT);
    el.style.position = 'relative';
    el.style.overflow = 'hidden';
    const container = document.createElement('div');
    container.className = 'OT_widget-container';
    container.style.width = container.style.height = '100%';
    video.style.width = video.style.height = '100%';
    if (el.classList.contains('OT_mirrored')) video.style.transform = 'scaleX(-1)';
    container.append(video);
    const bar = document.createElement('div');
    bar.className = 'OT_bar OT_edge-bar-item';
    const name = document.createElement('span');
    name.className = 'OT_name OT_edge-bar-item';
    name.textContent = props.name ?? '';
    bar.append(name);
    // OpenTok's stylesheet is not shipped: just enough inline style for a readable default.
    Object.assign(bar.style, {
      position: 'absolute',
      left: '0',
      right: '0',
      bottom: '0',
      padding: '2px 6px',
      font: '12px sans-serif',
      color: '#fff',
      background: 'rgba(0, 0, 0, 0.45)',
      pointerEvents: 'none',
      display: props.name ? 'block' : 'none',
    });
    const loading = document.createElement('div');
    loading.className = 'OT_video-loading';
    Object.assign(loading.style, { position: 'absolute', inset: '0', background: '#222' });
    el.append(container, bar, loading);
    if (kind === 'publisher') {
      this.archiving = document.createElement('div');
      this.archiving.className = 'OT_archiving OT_archiving-off';
      el.append(this.archiving);
    }
    video.addEventListener('playing', () => {
      el.classList.remove('OT_loading');
      loading.style.display = 'none';
    });
    insert(el, target, props.insertMode ?? 'replace');
    this.id = el.id;
  }

  /** Plays a stream (the camera's, or a subscriber's tracks). */
  play(stream: MediaStream): void {
    if (this.removed) return;
    this.video.srcObject = stream;
    this.video.play().catch((err: unknown) => {
      if (this.removed || this.video.muted || (err as Error)?.name !== 'NotAllowedError') return;
      // The page has had no user gesture: OpenTok plays the video muted and says audio is blocked.
      this.video.muted = true;
      this.onAudioBlocked?.();
      void this.video.play().catch(() => undefined);
    });
  }

  /** The current frame as a base64 PNG (no `data:` prefix), as OpenTok's getImgData(); null before any frame. */
  imgData(): string | null {
    const v = this.video;
    if (this.removed || !v.videoWidth) return null;
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext('2d')?.drawImage(v, 0, 0);
    return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
  }

  /** The archive indicator of a publisher's widget: `OT_archiving-on` / `OT_archiving-off`. */
  setArchiving(on: boolean): void {
    if (!this.archiving) return;
    this.archiving.classList.toggle('OT_archiving-on', on);
    this.archiving.classList.toggle('OT_archiving-off', !on);
  }

  /** Takes the widget (or the bare video element) off the page and stops playing. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.video.srcObject = null;
    (this.element ?? this.video).remove();
  }
}

function size(value: string | number | undefined, fallback: number): string {
  if (value === undefined) return `${fallback}px`;
  return typeof value === 'number' ? `${value}px` : value;
}

function insert(el: HTMLElement, target: HTMLElement | string | undefined, mode: string): void {
  const found = typeof target === 'string' ? document.getElementById(target) : target;
  if (!found) {
    // OpenTok appends a widget without a target (or with one not on the page) to the body.
    document.body.append(el);
    return;
  }
  switch (mode) {
    case 'append':
      found.append(el);
      return;
    case 'before':
      found.before(el);
      return;
    case 'after':
      found.after(el);
      return;
    default:
      // replace: the widget takes the target's place, and its id, so the page's CSS still applies.
      if (found.id) el.id = found.id;
      found.replaceWith(el);
  }
}
