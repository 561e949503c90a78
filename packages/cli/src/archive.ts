import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import {
  TetherError,
  archiveOutputModeSchema,
  archiveResolutionSchema,
  type StartArchiveBody,
} from '@tether/protocol';
import { DEFAULTS } from '@tether/server';
import { TetherApi } from '@tether/server-sdk';

export const ARCHIVE_USAGE = `  tether archive start --session <id> [--name <text>] [--output-mode composed|individual]
                      [--no-audio] [--no-video] [--resolution 640x480|1280x720|480x640|720x1280] [--max-duration <s>]
  tether archive stop <archiveId>
  tether archive list [--session <id>] [--offset <n>] [--count <n>]
  tether archive get <archiveId>
  tether archive delete <archiveId>
  tether archive download <archiveId> [--file <name>] [--out <path>]
                                    (the composed file, or one stream's file of an individual archive)
  archive options: --url <server>   TETHER_URL   http://${DEFAULTS.host}:${DEFAULTS.port}
`;

type Credentials = (
  values: { 'api-key'?: string; 'api-secret'?: string; 'data-dir'?: string },
  env: NodeJS.ProcessEnv,
) => { apiKey: string; apiSecret: string };

const options = {
  'api-key': { type: 'string' },
  'api-secret': { type: 'string' },
  'data-dir': { type: 'string' },
  url: { type: 'string' },
  session: { type: 'string' },
  name: { type: 'string' },
  'output-mode': { type: 'string' },
  'no-audio': { type: 'boolean' },
  'no-video': { type: 'boolean' },
  resolution: { type: 'string' },
  'max-duration': { type: 'string' },
  offset: { type: 'string' },
  count: { type: 'string' },
  file: { type: 'string' },
  out: { type: 'string' },
} as const;

function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new TetherError('INVALID_ARGUMENT', `--${name} is a whole number`);
  return n;
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** `tether archive <start|stop|list|get|delete|download>`: the archive API through the server SDK. */
export async function archive(
  argv: string[],
  env: NodeJS.ProcessEnv,
  credentials: Credentials,
): Promise<number> {
  const [verb, ...rest] = argv;
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true });
  const api = new TetherApi({
    url: values.url ?? env.TETHER_URL ?? `http://${DEFAULTS.host}:${DEFAULTS.port}`,
    ...credentials(values, env),
  });
  const id = () => {
    const archiveId = positionals[0];
    if (!archiveId) throw new TetherError('INVALID_ARGUMENT', `tether archive ${verb} <archiveId>`);
    return archiveId;
  };
  switch (verb) {
    case 'start': {
      if (!values.session) throw new TetherError('INVALID_ARGUMENT', '--session <id> is required');
      const mode = archiveOutputModeSchema.safeParse(values['output-mode'] ?? 'composed');
      if (!mode.success) throw new TetherError('INVALID_ARGUMENT', '--output-mode is composed or individual');
      const resolution = archiveResolutionSchema.safeParse(values.resolution ?? '640x480');
      if (!resolution.success)
        throw new TetherError('INVALID_ARGUMENT', '--resolution is 640x480, 1280x720, 480x640 or 720x1280');
      const maxDuration = whole('max-duration', values['max-duration']);
      const body: StartArchiveBody = {
        sessionId: values.session,
        outputMode: mode.data,
        resolution: resolution.data,
        hasAudio: !values['no-audio'],
        hasVideo: !values['no-video'],
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(maxDuration !== undefined ? { maxDuration } : {}),
      };
      print(await api.startArchive(body));
      return 0;
    }
    case 'stop':
      print(await api.stopArchive(id()));
      return 0;
    case 'get':
      print(await api.getArchive(id()));
      return 0;
    case 'list': {
      const offset = whole('offset', values.offset);
      const count = whole('count', values.count);
      print(
        await api.listArchives({
          ...(values.session !== undefined ? { sessionId: values.session } : {}),
          ...(offset !== undefined ? { offset } : {}),
          ...(count !== undefined ? { count } : {}),
        }),
      );
      return 0;
    }
    case 'delete':
      await api.deleteArchive(id());
      return 0;
    case 'download': {
      const archiveId = id();
      const response = await api.downloadArchive(
        archiveId,
        values.file !== undefined ? { file: values.file } : {},
      );
      const out = values.out ?? `${archiveId}-${values.file ?? 'archive.webm'}`;
      if (!response.body) throw new TetherError('INTERNAL', 'the download had no body');
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(out));
      process.stderr.write(`${out}\n`);
      return 0;
    }
    default:
      throw new TetherError(
        'INVALID_ARGUMENT',
        `tether archive start|stop|list|get|delete|download, not "${verb ?? ''}"`,
      );
  }
}
