import { type DaemonVariant, findExecutable, isUserVariant } from "@procmgr/unitgen";
import { CliError } from "../../errors.js";

/**
 * Whether the steps must run through sudo: only for a system variant when not root. Throws a
 * clear error when that is needed and sudo is missing (not for a dry run).
 */
export function privilege(
  variant: DaemonVariant,
  uid: number,
  env: NodeJS.ProcessEnv,
  dryRun: boolean,
): boolean {
  if (isUserVariant(variant) || uid === 0) return false;
  if (!dryRun && findExecutable("sudo", env) === undefined) {
    throw new CliError(
      "permission",
      `the ${variant} variant is a system service and needs root: run as root (sudo not found), or use --variant user`,
    );
  }
  return true;
}
