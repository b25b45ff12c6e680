/** Every scenario of the fault suite, in the order they run. */
import { crashLoop } from "./crash-loop.js";
import { fuzzConfig } from "./fuzz-config.js";
import { fuzzRpc } from "./fuzz-rpc.js";
import type { Scenario } from "./suite.js";

export const scenarios: readonly Scenario[] = [crashLoop, fuzzConfig, fuzzRpc];
