import type { DaemonVariant } from "@procmgr/unitgen";

/**
 * The variants `daemon install|uninstall --variant` accepts: @procmgr/unitgen's `daemonVariants`,
 * written out so that loading the command classes does not load unitgen (`variants.test.ts`
 * holds the two lists equal).
 */
export const installVariants: readonly DaemonVariant[] = [
  "standard",
  "capability",
  "user",
  "secure",
];
