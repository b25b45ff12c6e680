import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { ConfigIssue } from "./errors.js";
import { configOrigin } from "./resolve-process.js";
import type { ProcessConfig } from "./types.js";
import { checkUsersAndGroups } from "./users.js";
import { issueAt } from "./yaml-source.js";

/** The host a health check connects to, and the field that names it. */
function checkedHost(config: ProcessConfig): { host: string; field: string } | undefined {
  const check = config.healthCheck;
  if (check === undefined || check.type === "exec") return undefined;
  if (check.endpoint?.startsWith("http") === true) {
    return { host: new URL(check.endpoint).hostname.replace(/^\[|\]$/g, ""), field: "endpoint" };
  }
  return { host: check.host ?? "127.0.0.1", field: "host" };
}

/**
 * Start-time check that the host of every http and tcp health check resolves (the resolver's
 * answer may change, so not at parse time): one issue per process whose host does not.
 */
export async function checkHealthCheckHosts(
  configs: readonly ProcessConfig[],
): Promise<ConfigIssue[]> {
  const cache = new Map<string, Promise<string | undefined>>();
  const problem = (host: string) => {
    let p = cache.get(host);
    if (p === undefined) {
      p =
        isIP(host) !== 0
          ? Promise.resolve(undefined)
          : lookup(host).then(
              () => undefined,
              (e: NodeJS.ErrnoException) => e.code ?? e.message,
            );
      cache.set(host, p);
    }
    return p;
  };
  const issues: ConfigIssue[] = [];
  for (const config of configs) {
    const target = checkedHost(config);
    if (target === undefined) continue;
    const why = await problem(target.host);
    if (why === undefined) continue;
    const ctx = configOrigin(config) ?? { nodePath: [], displayPrefix: ["processes", config.name] };
    issues.push(
      issueAt(
        ctx,
        ["health_check", target.field],
        `host "${target.host}" does not resolve (${why})`,
        {
          code: "unresolved-host",
          expected: "a host name the resolver knows, or an address",
          received: JSON.stringify(target.host),
        },
      ),
    );
  }
  return issues;
}

/**
 * The checks of a loaded config against the host it runs on, at daemon start, reload and
 * `--check-config`: users and groups exist, health check hosts resolve.
 */
export async function checkAgainstHost(configs: readonly ProcessConfig[]): Promise<ConfigIssue[]> {
  const [users, hosts] = await Promise.all([
    checkUsersAndGroups(configs),
    checkHealthCheckHosts(configs),
  ]);
  return [...users, ...hosts];
}
