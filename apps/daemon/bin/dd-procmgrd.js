#!/usr/bin/env node
// First the daemon's V8 flags (src/v8-flags.ts), then the daemon: imported only now, because an
// ES module graph is loaded whole before any of it runs, and loading it is what grew V8's young
// generation before the flags were set.
import "../dist/v8-flags.js";

const { main } = await import("../dist/main.js");

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`dd-procmgrd: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
