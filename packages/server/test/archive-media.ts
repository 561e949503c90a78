import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Publisher, Session } from '@tether/client';
import { EncodedSource, weriftRtc, type TestServer } from '@tether/testkit';

const run = promisify(execFile);

/** What ffprobe reads of a file: its streams' codecs and sizes, and its length in seconds. */
export interface Probe {
  duration: number;
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
}

export async function probe(path: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name,width,height'],
    ...['-of', 'json', path],
  ]);
  const json = JSON.parse(stdout) as { format: { duration: string }; streams: Probe['streams'] };
  return { duration: Number(json.format.duration), streams: json.streams };
}

/** Decodes every frame of the file; what ffmpeg reports as an error (empty: all of it decodes). */
export async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-f', 'null', '-']);
  return stderr.trim();
}

export function codecs(p: Probe): string[] {
  return p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
}

/** Writes a response's body to bytes. */
export async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** A client of the session publishing real VP8/Opus (ffmpeg's test pattern and a tone). */
export async function publisher(
  t: TestServer,
  sessionId: string,
  name: string,
): Promise<{
  session: Session;
  publisher: Publisher;
  source: EncodedSource;
  streamId: string;
  stop(): void;
}> {
  const source = new EncodedSource();
  await source.start();
  const session = await t.join(sessionId, { data: name, rtc: weriftRtc });
  const pub = session.initPublisher({ name, tracks: source.tracks });
  const stream = await session.publish(pub);
  return { session, publisher: pub, source, streamId: stream.streamId, stop: () => source.stop() };
}
