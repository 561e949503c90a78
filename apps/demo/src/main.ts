import { JoinError, devJoin, type JoinTicket } from './api.js';
import { Banner } from './banner.js';
import { byId } from './dom.js';
import { Room } from './room.js';

const banner = new Banner();
const form = byId<HTMLFormElement>('join-form');
const nameInput = byId<HTMLInputElement>('join-name');
const sessionInput = byId<HTMLInputElement>('join-session');
const mediaInput = byId<HTMLInputElement>('join-media');
const sessionIdInput = byId<HTMLInputElement>('join-session-id');
const tokenInput = byId<HTMLInputElement>('join-token');
const joinError = byId('join-error');
const joinButton = byId<HTMLButtonElement>('join-button');
const micButton = byId<HTMLButtonElement>('toggle-mic');
const camButton = byId<HTMLButtonElement>('toggle-cam');

let room: Room | undefined;

const params = new URLSearchParams(location.search);
nameInput.value = localStorage.getItem('tether-demo-name') ?? '';
sessionInput.value = params.get('session') ?? 'demo';

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void join();
});

/** The room this tab is in, kept across a reload (the SDK keeps the connection's recovery key). */
const SAVED = 'tether-demo-room';
interface SavedRoom {
  name: string;
  sessionName: string;
  ticket: JoinTicket;
  media: boolean;
}
const saved = readSaved();
if (saved) {
  nameInput.value = saved.name;
  sessionInput.value = saved.sessionName;
  mediaInput.checked = saved.media;
  void join(saved.ticket);
}

function readSaved(): SavedRoom | undefined {
  try {
    const value = JSON.parse(sessionStorage.getItem(SAVED) ?? 'null') as SavedRoom | null;
    return value && typeof value.ticket?.token === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

async function join(again?: JoinTicket): Promise<void> {
  const name = nameInput.value.trim();
  const sessionName = sessionInput.value.trim();
  if (!name || !sessionName) return;
  joinError.hidden = true;
  joinButton.disabled = true;
  joinButton.textContent = 'Joining…';
  try {
    const ticket = again ?? (await ticketFor(name, sessionName));
    const media = mediaInput.checked ? await camera() : undefined;
    localStorage.setItem('tether-demo-name', name);
    sessionStorage.setItem(SAVED, JSON.stringify({ name, sessionName, ticket, media: Boolean(media) }));
    history.replaceState(null, '', `/?session=${encodeURIComponent(sessionName)}`);
    showRoom(sessionName);
    room = new Room({ name, sessionName, ticket, media, banner, onEnded: (rejoin) => ended(rejoin) });
    window.tetherDemo = { session: room.session };
    setToggles(Boolean(media));
    await room.join();
  } catch (err) {
    sessionStorage.removeItem(SAVED);
    room?.leave();
    room = undefined;
    showJoin();
    joinError.textContent =
      err instanceof JoinError ? err.message : `Could not join: ${(err as Error).message}`;
    joinError.hidden = false;
  } finally {
    joinButton.disabled = false;
    joinButton.textContent = 'Join';
  }
}

/** From the advanced fields when filled, else from the development join route. */
async function ticketFor(name: string, sessionName: string): Promise<JoinTicket> {
  const sessionId = sessionIdInput.value.trim();
  const token = tokenInput.value.trim();
  if (sessionId && token) return { url: location.origin, sessionId, token };
  return devJoin(name, sessionName);
}

/** Camera and microphone; without them the user joins to watch and chat. */
async function camera(): Promise<MediaStream | undefined> {
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    banner.notice(`Joining without camera and microphone: ${(err as Error).message || (err as Error).name}`);
    return undefined;
  }
}

function ended(rejoin: boolean): void {
  room = undefined;
  sessionStorage.removeItem(SAVED);
  if (rejoin) {
    banner.hide();
    void join();
    return;
  }
  showJoin();
}

function showRoom(sessionName: string): void {
  byId('join-view').hidden = true;
  byId('room-view').hidden = false;
  byId('topbar-session').hidden = false;
  byId('session-name').textContent = sessionName;
}

function showJoin(): void {
  byId('room-view').hidden = true;
  byId('topbar-session').hidden = true;
  byId('meter').hidden = true;
  byId('join-view').hidden = false;
}

function setToggles(enabled: boolean): void {
  for (const [button, on] of [
    [micButton, 'Mic on'],
    [camButton, 'Camera on'],
  ] as const) {
    button.disabled = !enabled;
    button.setAttribute('aria-pressed', 'true');
    button.textContent = on;
  }
}

function toggle(
  button: HTMLButtonElement,
  onText: string,
  offText: string,
  apply: (on: boolean) => Promise<void>,
): void {
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    button.textContent = on ? onText : offText;
    apply(on).catch((err: Error) => banner.notice(`Could not change it: ${err.message}`));
  });
}

toggle(micButton, 'Mic on', 'Mic off', async (on) => room?.setMic(on));
toggle(camButton, 'Camera on', 'Camera off', async (on) => room?.setCamera(on));

byId('leave').addEventListener('click', () => room?.leave());

const chatInput = byId<HTMLInputElement>('chat-input');
byId<HTMLFormElement>('chat-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = chatInput.value.trim();
  if (!text || !room) return;
  chatInput.value = '';
  void room.say(text);
});

byId('share-link').addEventListener('click', () => {
  const link = location.href;
  navigator.clipboard.writeText(link).then(
    () => banner.notice('Invite link copied.'),
    () => banner.notice(`Invite link: ${link}`),
  );
});

// No leave on pagehide: a reload resumes the connection (recover: true). A closed tab is
// seen as reconnecting by the others until the reconnect window ends it.

declare global {
  interface Window {
    /** The live session, to look at from the DevTools console. */
    tetherDemo?: { session: Room['session'] };
  }
}
