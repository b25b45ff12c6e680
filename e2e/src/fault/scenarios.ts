/** Every scenario of the fault suite, in the order they run. */
import { crashLoop } from "./crash-loop.js";
import { diskFull } from "./disk-full.js";
import { manyClients } from "./many-clients.js";
import { privilege } from "./privilege.js";
import type { Scenario } from "./suite.js";

export const scenarios: readonly Scenario[] = [crashLoop, diskFull, manyClients, privilege];
