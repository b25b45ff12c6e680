#!/usr/bin/env node
import { main } from "../dist/main.js";

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`dd-procmgrd: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
