import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const dir = fileURLToPath(new URL('./typings/', import.meta.url));

function typecheck(project: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [tsc, '-p', `${dir}${project}`], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The facade against the official OpenTok.js typings (@opentok/client's .d.ts): see typings/contract.ts. */
describe('OpenTok typings contract', () => {
  it("the facade's OT, Session, Publisher, Subscriber, Connection, Stream and every event it dispatches fit @opentok/client's types", () => {
    const { status, output } = typecheck('tsconfig.json');
    expect(output).toBe('');
    expect(status).toBe(0);
  }, 60_000);

  it('a facade type that does not fit them is rejected (the check can fail)', () => {
    const { status, output } = typecheck('tsconfig.broken.json');
    expect(status).not.toBe(0);
    expect(output).toMatch(/broken\.ts\(\d+,\d+\): error TS2322: .*reason/s);
  }, 60_000);
});
