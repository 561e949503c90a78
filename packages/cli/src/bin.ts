#!/usr/bin/env node
import { TetherError } from '@tether/protocol';
import { main } from './main.js';

main(process.argv.slice(2), process.env).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `tether: ${err instanceof TetherError || (err as Error)?.name === 'RedisUnreachableError' ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`,
    );
    process.exitCode = 1;
  },
);
