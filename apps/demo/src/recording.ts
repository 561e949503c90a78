import type { Session } from '@tether/client';
import { byId, h } from './dom.js';

interface ArchiveView {
  id: string;
  status: string;
  outputMode: 'composed' | 'individual';
  createdAt: number;
  duration: number;
  size: number;
  reason?: string;
  streams: Array<{ file: string; name: string }>;
}

/**
 * The session's recording as everyone sees it: a "Recording" pill while an archive runs
 * (`archiveStarted` / `archiveStopped`, and `session.archive` for one running when this client
 * joined). On the development project, a record button and the session's archives with
 * download links, through the server's development routes (`/dev/archives`); an application
 * starts archives from its back end with the server SDK.
 */
export class RecordingView {
  private readonly pill = byId('rec-pill');
  private readonly card = byId('archives');
  private readonly button = byId<HTMLButtonElement>('record');
  private readonly individual = byId<HTMLInputElement>('record-individual');
  private readonly list = byId('archive-list');
  private running: string | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly session: Session,
    private readonly sessionId: string,
    private readonly dev: boolean,
  ) {
    session.on('archiveStarted', ({ id }) => this.show(id));
    session.on('archiveStopped', () => this.show(undefined));
    session.on('sessionConnected', () => this.show(session.archive?.id));
    session.on('sessionDisconnected', () => this.show(undefined));
    this.card.hidden = !dev;
    this.button.onclick = () => void this.toggle();
    if (dev) void this.refresh();
  }

  close(): void {
    clearTimeout(this.refreshTimer);
    this.pill.hidden = true;
    this.card.hidden = true;
  }

  private show(id: string | undefined): void {
    this.running = id;
    this.pill.hidden = id === undefined;
    this.button.textContent = id === undefined ? 'Record' : 'Stop recording';
    if (this.dev) void this.refresh();
  }

  private async toggle(): Promise<void> {
    this.button.disabled = true;
    try {
      const res = this.running
        ? await fetch(`/dev/archives/${encodeURIComponent(this.running)}/stop`, { method: 'POST' })
        : await fetch('/dev/archives', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              sessionId: this.sessionId,
              outputMode: this.individual.checked ? 'individual' : 'composed',
            }),
          });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { message?: string };
        this.list.prepend(h('li', { class: 'form-error' }, body.message ?? `HTTP ${res.status}`));
      }
    } finally {
      this.button.disabled = false;
    }
  }

  /** The session's archives; while one is being finished, again a moment later. */
  private async refresh(): Promise<void> {
    clearTimeout(this.refreshTimer);
    const res = await fetch(`/dev/archives?sessionId=${encodeURIComponent(this.sessionId)}`).catch(
      () => undefined,
    );
    if (!res?.ok) return;
    const { items } = (await res.json()) as { items: ArchiveView[] };
    this.list.replaceChildren(...items.map((a) => this.item(a)));
    if (items.some((a) => a.status === 'started' || a.status === 'stopped'))
      this.refreshTimer = setTimeout(() => void this.refresh(), 2000);
  }

  private item(a: ArchiveView): HTMLLIElement {
    const when = new Date(a.createdAt).toLocaleTimeString();
    const label = `${when} · ${a.outputMode} · ${a.status}${a.reason ? ` (${a.reason})` : ''}`;
    const link = (file: string | undefined, text: string) =>
      h(
        'a',
        {
          href: `/dev/archives/${encodeURIComponent(a.id)}/download${file ? `?file=${encodeURIComponent(file)}` : ''}`,
          download: '',
          'data-testid': 'archive-download',
        },
        text,
      );
    const downloadable = a.status === 'available' || a.status === 'failed';
    const links = !downloadable
      ? []
      : a.outputMode === 'composed' && a.status === 'available'
        ? [link(undefined, 'download')]
        : a.streams.map((s) => link(s.file, s.name || s.file));
    return h(
      'li',
      { 'data-status': a.status },
      `${label}${a.duration ? ` · ${a.duration.toFixed(1)} s` : ''} `,
      ...links,
    );
  }
}
