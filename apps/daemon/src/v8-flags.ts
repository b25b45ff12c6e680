/**
 * The daemon's V8 flags (heap.ts, DAEMON_V8_FLAGS), set as this module is evaluated. The entry
 * points import it before anything else (bin/dd-procmgrd.js; the single executable's bundle
 * injects it first, scripts/build-sea.mjs), so that the flags hold while the daemon's modules
 * load: loading them is a burst of long-lived allocations, and V8 had already grown the young
 * generation to 2 x 2 MiB by the time `runDaemon` set `--semi-space-growth-factor=1`.
 */
import { applyDaemonV8Flags } from "./heap.js";

applyDaemonV8Flags();
