import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, REASONS } from './index.js';

const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');

describe('PROTOCOL.md', () => {
  it('documents every error code with its number', () => {
    for (const [code, spec] of Object.entries(ERRORS))
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${spec.num}\\s*\\|`));
  });
  it('documents every reason', () => {
    for (const reason of REASONS) expect(doc).toMatch(new RegExp(`\\|\\s*\`${reason}\`\\s*\\|`));
  });
});
