/** bench/lib/project.mjs — the project (API key and secret) the benchmarks' Tether servers accept. */
export const BENCH_PROJECT = {
  apiKey: 'bench-project',
  apiSecret: 'bench-secret-not-for-production-0123456789',
};
