/**
 * The largest request message the API reads: 4 MiB, gRPC's usual default. Set as connect-node's
 * `readMaxBytes` on every listener: a larger message is refused with RESOURCE_EXHAUSTED whose
 * message names the limit ("message size 8388608 is larger than configured readMaxBytes
 * 4194304"), at once when a Content-Length or a gRPC length prefix says so, else as soon as the
 * limit is passed; nothing larger is held in memory. The biggest real request (a Create or
 * Update with its spec) is a few KiB.
 */
export const maxRequestBytes = 4 * 1024 * 1024;

/** The limits of connectNodeAdapter's options, spread into them. */
export const requestLimits = { readMaxBytes: maxRequestBytes } as const;
