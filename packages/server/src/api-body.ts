import { TetherError } from '@tether/protocol';
import type { z } from 'zod/mini';

/**
 * An HTTP API body checked against its schema (Tether's `/v1`, archives, OpenTok's paths): the
 * parsed value, or API_BODY_INVALID naming the first field that is wrong.
 */
export function parseBody<S extends z.ZodMiniType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TetherError(
      'API_BODY_INVALID',
      `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
