/** Every scenario of the fault suite, in the order they run. */
import { crashLoop } from "./crash-loop.js";
import { daemonKilled } from "./daemon-killed.js";
import { races } from "./races.js";
import { signals } from "./signals.js";
import type { Scenario } from "./suite.js";

export const scenarios: readonly Scenario[] = [crashLoop, daemonKilled, races, signals];
