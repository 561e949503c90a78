import { describe, expect, it } from 'vitest';
import { Endpoints } from './endpoints.js';

describe('Endpoints', () => {
  it('one URL: every attempt goes there, failures or not', () => {
    const e = new Endpoints('http://a');
    e.failed('http://a');
    expect(e.current).toBe('http://a');
  });

  it('a list: stays on a URL while it works, moves to the next when an attempt on it fails, round the list', () => {
    const e = new Endpoints(['http://a', 'http://b', 'http://c']);
    expect(e.current).toBe('http://a');
    e.failed('http://a');
    expect(e.current).toBe('http://b');
    e.failed('http://b');
    e.failed('http://c');
    expect(e.current).toBe('http://a');
  });

  it('a late failure of an attempt on a URL already left does not skip the one in use', () => {
    const e = new Endpoints(['http://a', 'http://b', 'http://c']);
    e.failed('http://a');
    e.failed('http://a'); // the second of two overlapping attempts on a
    expect(e.current).toBe('http://b');
  });

  it('refuses an empty list or an empty URL, naming the option', () => {
    expect(() => new Endpoints([])).toThrow(/url: give at least one server URL/);
    expect(() => new Endpoints(['http://a', ''])).toThrow(/url: "" is not a URL/);
  });
});
