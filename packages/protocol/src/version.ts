/** Wire protocol version, sent as `v` in `connect` and `resume`. Bump on any incompatible change. */
export const PROTOCOL_VERSION = 1;
/** Versions this build of the server accepts. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
