export { FaultProxy, type FaultProxyOptions } from './fault-proxy.js';
export { FakeClock } from './fake-clock.js';
export { startTestServer, TEST_PROJECT, type TestServer } from './test-server.js';
export { waitFor, hold } from './wait.js';
export { RtpSource, RtpSink, weriftRtc } from './rtp-source.js';
