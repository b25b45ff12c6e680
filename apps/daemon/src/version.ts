/** The daemon's version (kept equal to apps/daemon/package.json; a test checks it). */
export const VERSION = "0.1.0";
