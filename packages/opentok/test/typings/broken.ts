// A facade type that does NOT fit OpenTok's typings (a numeric `reason`): ../typings.test.ts
// checks that tsc rejects this file, so the contract check is known to be able to fail.
import type OTNS from '@opentok/client';
import type { EventOf, Session } from '../../src/index.js';

declare const wrong: EventOf<'sessionDisconnected', Session, { reason: number }>;
declare const otSession: OTNS.Session;
otSession.on('sessionDisconnected', (_e) => void ((): Omit<typeof _e, 'target'> => wrong));
