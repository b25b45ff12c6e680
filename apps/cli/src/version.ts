/** The CLI's version (kept in step with package.json). */
export const cliVersion = "0.1.0";
