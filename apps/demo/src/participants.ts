import { byId, h, initials } from './dom.js';

export interface Participant {
  connectionId: string;
  name: string;
  self: boolean;
  state: 'connected' | 'reconnecting' | 'connecting' | 'disconnected';
  publishing: boolean;
}

/** The people list: each connection with its state. */
export class ParticipantList {
  private readonly list = byId('people');
  private readonly count = byId('people-count');

  render(people: Participant[]): void {
    const sorted = [...people].sort(
      (a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name),
    );
    this.count.textContent = String(people.length);
    this.list.replaceChildren(
      ...sorted.map((p) =>
        h(
          'li',
          {
            class: 'person',
            'data-testid': 'participant',
            'data-name': p.name,
            'data-state': p.state,
            'data-connection-id': p.connectionId,
          },
          h('span', { class: 'initials', 'aria-hidden': 'true' }, initials(p.name)),
          h(
            'span',
            { class: 'who' },
            h('span', { class: 'name' }, p.name),
            h(
              'span',
              { class: 'sub' },
              [p.self && 'you', p.publishing ? 'on camera' : 'watching'].filter(Boolean).join(' · '),
            ),
          ),
          h('span', { class: 'pill', 'data-state': p.state, 'data-testid': 'participant-state' }, p.state),
        ),
      ),
    );
  }
}
