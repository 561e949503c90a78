import {
  ERRORS,
  TetherError,
  apiConnectionsResponseSchema,
  apiErrorResponseSchema,
  apiSessionResponseSchema,
  apiSignalBodySchema,
  apiSignalResponseSchema,
  apiStreamsResponseSchema,
  archiveListSchema,
  archiveSchema,
  checkSignal,
  createSessionBodySchema,
  isErrorCode,
  type ApiConnectionsResponse,
  type ApiSignalBody,
  type ApiSignalResponse,
  type ApiStreamsResponse,
  type Archive,
  type ArchiveList,
  type ListArchivesQuery,
  type StartArchiveBody,
  type CreateSessionBody,
  type ErrorCode,
  type SessionInfo,
} from '@tether/protocol';
import {
  checkCredentials,
  createApiToken,
  createToken,
  describeIssues,
  type CreateTokenOptions,
} from '@tether/auth';

export interface TetherApiOptions {
  /** Base URL of the Tether server, e.g. `https://tether.example.com`; routes are under `/v1`. */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

export type TokenOptions = Omit<CreateTokenOptions, 'apiKey' | 'apiSecret' | 'sessionId'>;

/** What a protocol response schema offers, typed without depending on zod directly. */
interface Schema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly Issue[] } };
}
interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

type Method = 'GET' | 'POST' | 'DELETE';

/** Typed calls to the Tether HTTP API; each call is authorised by a fresh API token. */
export class TetherApi {
  readonly url: string;
  readonly apiKey: string;
  readonly #apiSecret: string;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: TetherApiOptions) {
    const { url, apiKey, apiSecret } = options;
    checkCredentials(apiKey, apiSecret);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
      throw new TetherError('INVALID_ARGUMENT', `url must be an http(s) URL, got ${JSON.stringify(url)}`);
    this.url = url.replace(/\/+$/, '');
    this.apiKey = apiKey;
    this.#apiSecret = apiSecret;
    const fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== 'function')
      throw new TetherError('INVALID_ARGUMENT', 'no fetch: pass options.fetch');
    this.#fetch = (input, init) => fetchFn(input, init);
  }

  /** `POST /v1/sessions`. */
  async createSession(body: CreateSessionBody = {}): Promise<SessionInfo> {
    const parsed = createSessionBodySchema.safeParse(body);
    if (!parsed.success) throw new TetherError('INVALID_ARGUMENT', describeIssues(parsed.error.issues));
    return this.#json('POST', ['sessions'], parsed.data, apiSessionResponseSchema);
  }

  /** `GET /v1/sessions/:sessionId`. */
  async getSession(sessionId: string): Promise<SessionInfo> {
    return this.#json('GET', ['sessions', id('sessionId', sessionId)], undefined, apiSessionResponseSchema);
  }

  /** `GET /v1/sessions/:sessionId/connections`. */
  async listConnections(sessionId: string): Promise<ApiConnectionsResponse['connections']> {
    const path = ['sessions', id('sessionId', sessionId), 'connections'];
    return (await this.#json('GET', path, undefined, apiConnectionsResponseSchema)).connections;
  }

  /** `GET /v1/sessions/:sessionId/streams`. */
  async listStreams(sessionId: string): Promise<ApiStreamsResponse['streams']> {
    const path = ['sessions', id('sessionId', sessionId), 'streams'];
    return (await this.#json('GET', path, undefined, apiStreamsResponseSchema)).streams;
  }

  /** `POST /v1/sessions/:sessionId/signal`: to one connection (`to`) or to all of the session. */
  async signal(sessionId: string, signal: ApiSignalBody): Promise<ApiSignalResponse> {
    const path = ['sessions', id('sessionId', sessionId), 'signal'];
    const problem = checkSignal(signal?.type, signal?.data);
    if (problem) throw new TetherError(problem);
    const parsed = apiSignalBodySchema.safeParse(signal);
    if (!parsed.success)
      throw new TetherError('INVALID_ARGUMENT', `signal: ${describeIssues(parsed.error.issues)}`);
    return this.#json('POST', path, parsed.data, apiSignalResponseSchema);
  }

  /** `DELETE /v1/sessions/:sessionId/connections/:connectionId`. */
  async forceDisconnect(sessionId: string, connectionId: string): Promise<void> {
    const path = ['sessions', id('sessionId', sessionId), 'connections', id('connectionId', connectionId)];
    await this.#send('DELETE', path);
  }

  /** `DELETE /v1/sessions/:sessionId/streams/:streamId`. */
  async forceUnpublish(sessionId: string, streamId: string): Promise<void> {
    const path = ['sessions', id('sessionId', sessionId), 'streams', id('streamId', streamId)];
    await this.#send('DELETE', path);
  }

  /** `POST /v1/archives`: starts recording a routed session (one archive per session at a time). */
  async startArchive(body: StartArchiveBody): Promise<Archive> {
    id('sessionId', body.sessionId);
    return this.#json('POST', ['archives'], body, archiveSchema);
  }

  /** `POST /v1/archives/:id/stop`: the archive becomes `stopped`, then `available` (or `failed`). */
  async stopArchive(archiveId: string): Promise<Archive> {
    return this.#json('POST', ['archives', id('archiveId', archiveId), 'stop'], {}, archiveSchema);
  }

  /** `GET /v1/archives/:id`. */
  async getArchive(archiveId: string): Promise<Archive> {
    return this.#json('GET', ['archives', id('archiveId', archiveId)], undefined, archiveSchema);
  }

  /** `GET /v1/archives`: this project's archives, newest first, optionally of one session. */
  async listArchives(query: ListArchivesQuery = {}): Promise<ArchiveList> {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params[k] = String(v);
    return this.#json('GET', ['archives'], undefined, archiveListSchema, params);
  }

  /** `DELETE /v1/archives/:id`: its record and files (not while it records or is being finished). */
  async deleteArchive(archiveId: string): Promise<void> {
    await this.#send('DELETE', ['archives', id('archiveId', archiveId)]);
  }

  /**
   * `GET /v1/archives/:id/download`: the composed file, or `file` (one of its `streams`' files).
   * The response's body streams it; `range` asks for bytes `start`..`end` (HTTP 206).
   */
  async downloadArchive(
    archiveId: string,
    opts: { file?: string; range?: { start: number; end?: number } } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (opts.range) headers.range = `bytes=${opts.range.start}-${opts.range.end ?? ''}`;
    const { response } = await this.#send(
      'GET',
      ['archives', id('archiveId', archiveId), 'download'],
      undefined,
      opts.file !== undefined ? { file: opts.file } : undefined,
      headers,
    );
    return response;
  }

  /** A client token for `sessionId`, signed with this project's credentials. */
  createToken(sessionId: string, opts: TokenOptions = {}): Promise<string> {
    return createToken({ ...opts, apiKey: this.apiKey, apiSecret: this.#apiSecret, sessionId });
  }

  async #json<T>(
    method: Method,
    path: string[],
    body: unknown,
    schema: Schema<T>,
    query?: Record<string, string>,
  ): Promise<T> {
    const { response, where } = await this.#send(method, path, body, query);
    let json: unknown;
    try {
      json = JSON.parse(await response.text());
    } catch {
      throw new TetherError('INTERNAL', `${where} answered HTTP ${response.status} without a JSON body`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new TetherError(
        'INTERNAL',
        `${where} answered an unexpected body: ${describeIssues(parsed.error.issues)}`,
      );
    return parsed.data;
  }

  /** Sends one authorised request; resolves with a 2xx response, throws TetherError otherwise. */
  async #send(
    method: Method,
    path: string[],
    body?: unknown,
    query?: Record<string, string>,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ response: Response; where: string }> {
    const search = query && Object.keys(query).length > 0 ? `?${new URLSearchParams(query).toString()}` : '';
    const url = `${this.url}/v1/${path.map(encodeURIComponent).join('/')}${search}`;
    const where = `${method} ${url}`;
    const token = await createApiToken({ apiKey: this.apiKey, apiSecret: this.#apiSecret });
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...extraHeaders,
    };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await this.#fetch(url, init);
    } catch (err) {
      throw new TetherError('CONNECT_FAILED', `${where}: ${describeCause(err)}`);
    }
    if (!response.ok) throw await errorFrom(response, where);
    return { response, where };
  }
}

/** The TetherError a non-2xx response stands for: its `{code, message}` body, else INTERNAL. */
async function errorFrom(response: Response, where: string): Promise<TetherError> {
  const status = `HTTP ${response.status}`;
  let json: unknown;
  try {
    json = JSON.parse(await response.text());
  } catch {
    json = undefined;
  }
  const parsed = apiErrorResponseSchema.safeParse(json);
  if (!parsed.success)
    return new TetherError(
      'INTERNAL',
      `${where} answered ${status} ${response.statusText} without a Tether error body`,
    );
  const { code, message } = parsed.data;
  if (!isErrorCode(code)) return new TetherError('INTERNAL', `${code}: ${message} (${status})`);
  const detail = serverDetail(code, message);
  return new TetherError(code, detail ? `${detail} (${status})` : status);
}

/** The detail of a server's TetherError message, without the code prefix and fix suffix we add again. */
function serverDetail(code: ErrorCode, message: string): string {
  const fix = ERRORS[code].message;
  let detail = message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
  if (detail === fix) return '';
  if (detail.endsWith(` — ${fix}`)) detail = detail.slice(0, -(fix.length + 3));
  return detail;
}

function id(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new TetherError('INVALID_ARGUMENT', `${name} must be a non-empty string`);
  return value;
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
