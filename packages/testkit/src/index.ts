export { FaultProxy, DEFAULT_HOLD_BYTES, type FaultProxyOptions } from './fault-proxy.js';
export { FakeClock } from './fake-clock.js';
export { startTestServer, TEST_PROJECT, type TestServer } from './test-server.js';
export { waitFor, hold } from './wait.js';
export { RtpSource, RtpSink, weriftRtc } from './rtp-source.js';
export {
  Netns,
  Agent,
  startNetnsClient,
  destroyAllNetns,
  netnsUnavailable,
  udpSocketCount,
  now,
  type NetnsClient,
  type AgentEvent,
  type AgentOptions,
  type CutKind,
} from './netns.js';
