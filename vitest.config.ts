import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, not their builds.
    alias: {
      '@tether/protocol': src('protocol'),
      '@tether/auth': src('auth'),
      '@tether/webrtc': src('webrtc'),
      '@tether/server-sdk': src('server-sdk'),
      '@tether/server': src('server'),
      '@tether/client': src('client'),
      '@tether/opentok': src('opentok'),
      '@tether/testkit': src('testkit'),
    },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'packages',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
        },
      },
      {
        // The integration suite again with every test client on MessagePack (testkit's testCodec),
        // proving the codec seam end to end. Left out, each for a reason:
        extends: true,
        test: {
          name: 'msgpack',
          include: ['packages/server/test/**/*.test.ts', 'packages/client/test/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            // gzip budgets of the browser builds: no wire at all.
            'packages/client/test/bundle-size.test.ts',
            // raw `ws` clients speaking JSON by hand, no SDK client: would run the same JSON twice.
            'packages/server/test/resume.test.ts',
            // the SFU's API called in process on a fake clock: no signalling on a wire.
            'packages/server/test/media-timers.test.ts',
            // media recovery and resource leaks across netns cuts (2.5 min, root only): what they
            // assert is media, and their signalling is the same reliable ops (publishMedia,
            // subscribe, answerMedia, relay, restartMedia) media.test.ts runs here over MessagePack;
            // resume and replay of those ops is the codec path reconnect/exactly-once prove.
            'packages/client/test/media-faults.test.ts',
            'packages/server/test/media-leaks.test.ts',
            // timing of heartbeats on slow links, one process's memory under a mass drop, and the
            // cluster's deploys, balancer and property runs (a minute each): what they prove is not
            // the codec, and cluster.test.ts runs here to carry MessagePack across nodes.
            'packages/client/test/slow-links.test.ts',
            'packages/server/test/interrupted-memory.test.ts',
            'packages/client/test/cluster-deploy.test.ts',
            'packages/client/test/cluster-lb.test.ts',
            'packages/client/test/cluster.property.test.ts',
            // media moving between nodes: its signalling is the ops media.test.ts runs here.
            'packages/client/test/cluster-media.test.ts',
            // which node sends a callback: the clients' codec plays no part.
            'packages/client/test/cluster-callbacks.test.ts',
            // recordings checked by decoding them (a minute of ffmpeg each): what they prove is the
            // files; archive-api.test.ts runs here for the archive events over MessagePack.
            'packages/server/test/archive.test.ts',
            'packages/server/test/archive-crash.test.ts',
            'packages/server/test/archive-faults.test.ts',
          ],
          env: { TETHER_TEST_CODEC: 'msgpack' },
        },
      },
      {
        // The integration suite again with every session's log in Redis (testkit's startTestServer
        // gives each server a RedisEngine in its own key prefix): the cluster seam's two engines
        // pass the same tests. Left out, each for a reason:
        extends: true,
        test: {
          name: 'redis',
          include: ['packages/server/test/**/*.test.ts', 'packages/client/test/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            // no server at all, or the SFU called in process: no session log.
            'packages/client/test/bundle-size.test.ts',
            'packages/server/test/media-timers.test.ts',
            // media across netns cuts (root, 2.5 min): routed media stays on one node, and its
            // signalling is the ops media.test.ts runs here.
            'packages/client/test/media-faults.test.ts',
            'packages/server/test/media-leaks.test.ts',
            // recordings across a netns cut, and of a child server built without an engine.
            'packages/server/test/archive-faults.test.ts',
            'packages/server/test/archive-crash.test.ts',
            // one process's memory under a mass drop (its server is a child built without an engine).
            'packages/server/test/interrupted-memory.test.ts',
            // already on Redis, with real node processes.
            'packages/client/test/cluster*.test.ts',
            'packages/server/test/cluster-redis-*.test.ts',
          ],
          env: { TETHER_TEST_ENGINE: 'redis' },
        },
      },
      {
        // Two Chromiums encoding video: run alone, after the rest, so neither side's timings suffer.
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
