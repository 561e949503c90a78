import type { Reason, SessionEvents } from '@tether/client';
import { byId, seconds } from './dom.js';
import { causeText, reasonText } from './texts.js';

type Kind = 'reconnecting' | 'reconnected' | 'disconnected' | 'notice';

/** The strip under the top bar that says what the connection is doing, in words. */
export class Banner {
  private readonly el = byId('banner');
  private readonly text = byId('banner-text');
  private readonly action = byId<HTMLButtonElement>('banner-action');
  private timer: ReturnType<typeof setInterval> | undefined;

  reconnecting(cause: SessionEvents['sessionReconnecting']['cause'], since: number): void {
    const text = () =>
      `Reconnecting… ${causeText(cause)} · ${seconds(Date.now() - since)}. Messages you send are kept and delivered when you are back.`;
    this.set('reconnecting', text());
    this.timer = setInterval(() => (this.text.textContent = text()), 200);
  }

  reconnected(afterMs: number, rejoined: boolean): void {
    this.set(
      'reconnected',
      rejoined
        ? `Rejoined after ${seconds(afterMs)} as a new connection: the server had forgotten the old one.`
        : `Reconnected after ${seconds(afterMs)} — same connection, nothing lost.`,
    );
    this.timer = setTimeout(() => this.hide(), 6000);
  }

  disconnected(reason: Reason, code: string | undefined, rejoin: () => void): void {
    this.set('disconnected', `Disconnected: ${reasonText(reason)} (${reason}${code ? `, ${code}` : ''})`, {
      label: 'Rejoin',
      run: rejoin,
    });
  }

  notice(text: string): void {
    this.set('notice', text);
    this.timer = setTimeout(() => this.hide(), 8000);
  }

  hide(): void {
    this.clearTimer();
    this.el.hidden = true;
    delete this.el.dataset.kind;
  }

  private set(kind: Kind, text: string, action?: { label: string; run: () => void }): void {
    this.clearTimer();
    this.el.dataset.kind = kind;
    this.text.textContent = text;
    this.action.hidden = !action;
    this.action.onclick = action ? () => action.run() : null;
    if (action) this.action.textContent = action.label;
    this.el.hidden = false;
  }

  private clearTimer(): void {
    clearInterval(this.timer);
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
