/**
 * The servers a session may use, in order of preference (one URL, or a cluster's nodes).
 * Attempts stay on one URL while it works; an attempt that fails on its path (no socket, no
 * answer in time) moves the next attempt to the next URL, round the list. A server's own
 * answer (a refused token, a refused resume) is not a path failure: the next node would
 * answer the same.
 */
export class Endpoints {
  private readonly urls: readonly string[];
  private index = 0;

  constructor(urls: string | readonly string[]) {
    this.urls = typeof urls === 'string' ? [urls] : [...urls];
    if (this.urls.length === 0) throw new TypeError('url: give at least one server URL');
    for (const url of this.urls)
      if (typeof url !== 'string' || url === '')
        throw new TypeError(`url: ${JSON.stringify(url)} is not a URL`);
  }

  /** Where the next attempt goes. */
  get current(): string {
    return this.urls[this.index] as string;
  }

  get all(): readonly string[] {
    return this.urls;
  }

  /** An attempt on `url` failed on its path; if it is still the current one, move on. */
  failed(url: string): void {
    if (this.urls[this.index] === url) this.index = (this.index + 1) % this.urls.length;
  }
}
