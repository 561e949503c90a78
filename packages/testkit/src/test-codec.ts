import { jsonCodec, msgpackCodec, type Codec } from '@tether/protocol';

/**
 * The codec every test client asks for, chosen in one place: `TETHER_TEST_CODEC=msgpack`
 * runs the integration suite over MessagePack (vitest project `msgpack`), anything else or
 * nothing over JSON. Raw-socket tests speak JSON by hand on purpose and do not read it.
 */
export function testCodec(): Codec {
  const name = process.env.TETHER_TEST_CODEC ?? 'json';
  if (name === 'msgpack') return msgpackCodec;
  if (name === 'json') return jsonCodec;
  throw new Error(`TETHER_TEST_CODEC must be json or msgpack, got ${name}`);
}
