import { TetherError } from '@tether/protocol';

/** A callback URL: for one project (`apiKey`), or for every project without its own. */
export interface CallbackTarget {
  apiKey?: string;
  url: string;
}

/** Where each project's callbacks go, checked once at start. */
export class CallbackTargets {
  private readonly byKey = new Map<string, URL>();
  private readonly fallback: URL | undefined;

  constructor(targets: readonly CallbackTarget[], knownKey: (apiKey: string) => boolean) {
    let fallback: URL | undefined;
    for (const { apiKey, url } of targets) {
      const parsed = parseUrl(url);
      if (apiKey === undefined) {
        if (fallback)
          throw new TetherError('INVALID_ARGUMENT', 'more than one callback URL for all projects');
        fallback = parsed;
        continue;
      }
      if (!knownKey(apiKey))
        throw new TetherError(
          'INVALID_ARGUMENT',
          `callback URL for "${apiKey}", which is not a configured project`,
        );
      if (this.byKey.has(apiKey))
        throw new TetherError('INVALID_ARGUMENT', `more than one callback URL for project "${apiKey}"`);
      this.byKey.set(apiKey, parsed);
    }
    this.fallback = fallback;
  }

  urlFor(apiKey: string): URL | undefined {
    return this.byKey.get(apiKey) ?? this.fallback;
  }

  get any(): boolean {
    return this.fallback !== undefined || this.byKey.size > 0;
  }
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TetherError('INVALID_ARGUMENT', `callback URL "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new TetherError('INVALID_ARGUMENT', `callback URL "${url}" must be http(s)`);
  return parsed;
}

/**
 * `[apiKey=]url` (the `--callback-url` flag): a URL starts with a scheme, so an `=` before its
 * `://` separates a project's key.
 */
export function parseCallbackTarget(spec: string): CallbackTarget {
  const m = /^([A-Za-z0-9_\-.~]+)=([a-z][a-z0-9+.-]*:\/\/.*)$/i.exec(spec.trim());
  return m ? { apiKey: m[1]!, url: m[2]! } : { url: spec.trim() };
}
