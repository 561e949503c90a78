export { FaultProxy, DEFAULT_HOLD_BYTES, SYN_RETRANSMIT_MS, type FaultProxyOptions } from './fault-proxy.js';
export { FakeClock } from './fake-clock.js';
export { startTestServer, TEST_PROJECT, type TestServer } from './test-server.js';
export { testCodec } from './test-codec.js';
export { waitFor, hold } from './wait.js';
export { RtpSource, RtpSink, weriftRtc } from './rtp-source.js';
export { EncodedSource } from './encoded-source.js';
export { Netns, netnsUnavailable, type CutKind } from './netns.js';
export {
  Agent,
  startNetnsClient,
  type NetnsClient,
  type AgentEvent,
  type AgentOptions,
  type CallArgs,
} from './netns-driver.js';
export { destroyAllNetns, now } from './netns-process.js';
export { udpSocketCount } from './udp-sockets.js';
export type {
  AgentCommands,
  AgentCommand,
  AgentParams,
  AgentResult,
  AgentStats,
  AgentSubStats,
  AgentContinuity,
  AgentSessionOptions,
} from './netns-commands.js';
export { pageSockets } from './page-sockets.js';
export { ClusterNode, clusterPrefix, type ClusterNodeOptions } from './cluster-node.js';
export { Haproxy } from './haproxy.js';
export { CallbackReceiver, type ReceivedCallback } from './callback-receiver.js';
