import { expect, it } from 'vitest';
import * as z from 'zod/mini';
import fr from 'zod/v4/locales/fr.js';

it('keeps a zod locale the application chose before loading the protocol', async () => {
  z.config(fr());
  // Imported only now, so the protocol's English default finds a locale already set.
  const { decodeClientFrame } = await import('./codec.js');
  const decoded = decodeClientFrame('{"t":"subscribe","seq":2}');
  expect(decoded.ok).toBe(false);
  if (!decoded.ok) expect(decoded.message).toMatch(/^streamId: Entrée invalide/);
});
