// esbuild `inject` file of the CLI's single executable: bundled code that names the global
// `Headers` gets LightHeaders instead (scripts/build-sea.mjs).
export { LightHeaders as Headers } from "./light-headers.js";
