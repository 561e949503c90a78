import { byId, h } from './dom.js';

export type MessageStatus = 'sending' | 'queued' | 'sent' | 'failed';

export interface ChatMessage {
  id: string;
  from: string;
  text: string;
  at: number;
  mine: boolean;
  status?: MessageStatus;
}

const STATUS_TEXT: Record<MessageStatus, string> = {
  sending: 'sending…',
  queued: 'queued — will send on reconnect',
  sent: 'sent',
  failed: 'not sent',
};

/** The chat log. Every received message is shown as received: duplicates would be visible, on purpose. */
export class ChatLog {
  private readonly log = byId('chat-log');
  private readonly own = new Map<string, HTMLElement>();

  add(msg: ChatMessage): void {
    const status = msg.status ? h('span', { class: 'status' }, STATUS_TEXT[msg.status]) : null;
    const el = h(
      'li',
      {
        class: msg.mine ? 'msg mine' : 'msg',
        'data-testid': 'chat-msg',
        'data-id': msg.id,
        'data-status': msg.status,
      },
      h(
        'div',
        { class: 'meta' },
        h('span', { class: 'from' }, msg.mine ? 'You' : msg.from),
        h('time', {}, clock(msg.at)),
        status,
      ),
      h('div', { class: 'text' }, msg.text),
    );
    if (msg.mine) this.own.set(msg.id, el);
    this.append(el);
  }

  /** Updates one of my messages; returns false when it is not in the log. */
  setStatus(id: string, status: MessageStatus, detail?: string): boolean {
    const el = this.own.get(id);
    if (!el) return false;
    el.dataset.status = status;
    const span = el.querySelector('.status');
    if (span) span.textContent = detail ? `${STATUS_TEXT[status]}: ${detail}` : STATUS_TEXT[status];
    return true;
  }

  system(text: string): void {
    this.append(h('li', { class: 'msg system', 'data-testid': 'chat-system' }, text));
  }

  clear(): void {
    this.own.clear();
    this.log.replaceChildren();
  }

  private append(el: HTMLElement): void {
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(el);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }
}

function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
