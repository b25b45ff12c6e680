/** Every scenario of the fault suite, in the order they run. */
import { crashLoop } from "./crash-loop.js";
import { daemonKilled } from "./daemon-killed.js";
import { diskFull } from "./disk-full.js";
import { fuzzConfig } from "./fuzz-config.js";
import { fuzzRpc } from "./fuzz-rpc.js";
import { manyClients } from "./many-clients.js";
import { privilege } from "./privilege.js";
import { races } from "./races.js";
import { signals } from "./signals.js";
import type { Scenario } from "./suite.js";

export const scenarios: readonly Scenario[] = [
  crashLoop,
  daemonKilled,
  races,
  signals,
  diskFull,
  manyClients,
  privilege,
  fuzzConfig,
  fuzzRpc,
];
