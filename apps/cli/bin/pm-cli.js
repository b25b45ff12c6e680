#!/usr/bin/env node
import { main } from "../dist/main.js";

main(process.argv.slice(2), process.env, process.argv[1]).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
