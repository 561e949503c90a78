import { describe, expect, it } from 'vitest';
import { CallbackTargets, parseCallbackTarget } from './targets.js';

const known = (key: string) => key === 'k1' || key === 'k2';

describe('callback targets', () => {
  it("sends a project's callbacks to its own URL, else to the one for all projects", () => {
    const t = new CallbackTargets(
      [{ url: 'https://all.example.com/' }, { apiKey: 'k1', url: 'https://one.example.com/' }],
      known,
    );
    expect(t.urlFor('k1')?.href).toBe('https://one.example.com/');
    expect(t.urlFor('k2')?.href).toBe('https://all.example.com/');
    expect(new CallbackTargets([{ apiKey: 'k1', url: 'http://a/' }], known).urlFor('k2')).toBeUndefined();
  });

  it('refuses at start what could never work: an unknown project, a non-http URL, two URLs for one project', () => {
    expect(() => new CallbackTargets([{ apiKey: 'nope', url: 'http://a/' }], known)).toThrow(
      /INVALID_ARGUMENT.*nope/,
    );
    expect(() => new CallbackTargets([{ url: 'ftp://a/' }], known)).toThrow(/must be http/);
    expect(() => new CallbackTargets([{ url: 'not a url' }], known)).toThrow(/not a URL/);
    expect(() => new CallbackTargets([{ url: 'http://a/' }, { url: 'http://b/' }], known)).toThrow(
      /more than one/,
    );
    expect(
      () =>
        new CallbackTargets(
          [
            { apiKey: 'k1', url: 'http://a/' },
            { apiKey: 'k1', url: 'http://b/' },
          ],
          known,
        ),
    ).toThrow(/more than one/);
  });

  it('parses [apiKey=]url: an = inside the URL is not a key', () => {
    expect(parseCallbackTarget('k1=https://a.example.com/cb')).toEqual({
      apiKey: 'k1',
      url: 'https://a.example.com/cb',
    });
    expect(parseCallbackTarget('https://a.example.com/cb?x=y')).toEqual({
      url: 'https://a.example.com/cb?x=y',
    });
  });
});
