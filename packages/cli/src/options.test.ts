import { describe, expect, it } from 'vitest';
import { serveOptions } from './options.js';

describe('tether serve --callback-url', () => {
  it('takes [apiKey=]url, repeatable; a flag wins over TETHER_CALLBACK_URL', () => {
    const flags = { 'callback-url': ['https://all.example.com/cb?a=b', 'k1=http://one.example.com:8080/cb'] };
    expect(serveOptions(flags, { TETHER_CALLBACK_URL: 'https://ignored.example.com/' }).callbacks).toEqual({
      targets: [
        { url: 'https://all.example.com/cb?a=b' },
        { apiKey: 'k1', url: 'http://one.example.com:8080/cb' },
      ],
    });
  });

  it('reads TETHER_CALLBACK_URL comma-separated, and none means no callbacks', () => {
    expect(
      serveOptions({}, { TETHER_CALLBACK_URL: 'k2=https://two.example.com/, https://all.example.com/' })
        .callbacks,
    ).toEqual({
      targets: [{ apiKey: 'k2', url: 'https://two.example.com/' }, { url: 'https://all.example.com/' }],
    });
    expect(serveOptions({}, {}).callbacks).toBeUndefined();
  });
});
