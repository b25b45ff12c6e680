/**
 * Control processes: what the daemon runs for a process beside its program, its hooks
 * (exec_start_pre, exec_start_post, exec_stop_post) and its exec health checks. Each is tracked
 * while it runs so that a daemon killed meanwhile leaves no orphan: the next start's `recover`
 * kills what the earlier daemon's control processes left.
 *
 * Each runs in a cgroup of its own, `<base>/<name>.<daemon pid>-<n>.control` in the tracking
 * hierarchy beside the process's `<name>.proc`, without limits, entered through the prelude
 * before its command runs (nothing it forks escapes, setsid or not). When its command exits the
 * cgroup is killed whole and removed once empty; `recover` kills and removes every one a crashed
 * daemon left. Not in the process's own cgroup as systemd does: exec_start_pre runs before that
 * cgroup is made, exec_stop_post after it is removed, a run is over only once its cgroup is
 * empty (a hanging check would hold it), and a hook must die whatever becomes of its process.
 * Where it has no cgroup (none on this host, or a daemon that switches users through file
 * capabilities, whose child may not move itself), a record in `<stateDir>/control/`
 * (run-records.ts) names its process group and start time, and `recover` kills that group as it
 * does a run's: a pid reused since is never touched.
 */
import type { Cgroups, ProcessCgroup } from "./cgroups.js";
import type { LaunchPlan } from "./identity.js";
import { prelude } from "./prelude.js";
import { bootId, readProcStat, signalSafe } from "./proc-fs.js";
import { stopLeftovers } from "./recovery.js";
import type { RunRecords } from "./run-records.js";

/** One control process, from before its spawn to its end. */
export interface Control {
  /** What to spawn: its command, entering its cgroup first when it has one. */
  readonly argv: string[];
  /** Right after the spawn: its record is written (where it has no cgroup). */
  spawned(pid: number): void;
  /** SIGKILL to everything in its cgroup (its process group is the caller's to kill). */
  kill(): void;
  /** Once it exited (or never spawned): its cgroup killed and removed, its record forgotten. */
  end(): void;
}

/** Records written by this node process so far (their ids are unique in the directory). */
let recordCount = 0;

/** SIGKILL to every member of `cgroup`, then its removal once empty. */
async function empty(cgroup: ProcessCgroup): Promise<void> {
  cgroup.killAll((pid) => signalSafe(pid, "SIGKILL"));
  await cgroup.whenEmpty();
  cgroup.remove();
}

export class ControlProcesses {
  readonly cgroups: Cgroups;
  private readonly records: RunRecords;
  private readonly warn: (message: string) => void;
  /** This supervisor's control cgroups until removed, by path: `recover` leaves them alone. */
  private readonly liveCgroups = new Map<string, ProcessCgroup>();
  /** This supervisor's records until removed: `recover` leaves them alone. */
  private readonly liveRecords = new Set<string>();

  constructor(cgroups: Cgroups, records: RunRecords, warn: (message: string) => void) {
    this.cgroups = cgroups;
    this.records = records;
    this.warn = warn;
  }

  /**
   * A control process of process `name` about to be spawned as `plan` says (the caller kills its
   * process group at its exit, on abort and at its timeout, as before; `end` after its exit).
   */
  begin(name: string, plan: LaunchPlan): Control {
    const cgroup = plan.uid === undefined ? this.cgroups.forControl(name) : undefined;
    if (cgroup === undefined) return this.byRecord(name, plan.argv);
    try {
      cgroup.create(undefined);
    } catch (e) {
      this.warn(`"${name}": ${(e as Error).message}; its hook or check is tracked by a record`);
      return this.byRecord(name, plan.argv);
    }
    this.liveCgroups.set(cgroup.path, cgroup);
    let ended = false;
    const kill = (): void => cgroup.killAll((pid) => signalSafe(pid, "SIGKILL"));
    return {
      argv: prelude(cgroup.procsFiles(), [], plan.argv),
      spawned: () => {},
      kill,
      end: () => {
        if (ended) return;
        ended = true;
        void empty(cgroup).then(() => this.liveCgroups.delete(cgroup.path));
      },
    };
  }

  private byRecord(name: string, argv: readonly string[]): Control {
    let id: string | undefined;
    return {
      argv: [...argv],
      spawned: (pid) => {
        const st = readProcStat(pid);
        if (st === undefined) return;
        id = `${process.pid}-${++recordCount}`;
        this.liveRecords.add(id);
        this.records.write({
          id,
          name,
          pid,
          pgid: pid,
          startTime: st.startTime,
          bootId: bootId(),
          killSignal: "SIGKILL",
          timeoutStopSec: 5,
        });
      },
      kill: () => {},
      end: () => {
        if (id === undefined) return;
        this.records.remove(id);
        this.liveRecords.delete(id);
        id = undefined;
      },
    };
  }

  /**
   * Kills what the control processes of a crashed supervisor left: every control cgroup but
   * this supervisor's (then removed), and the groups of the records whose pid and start time
   * still match. Answers the process each belonged to and a pid of it.
   */
  async recover(): Promise<{ name: string; pid: number }[]> {
    const stopped: { name: string; pid: number }[] = [];
    await Promise.all(
      this.cgroups.controls().map(async ({ name, cgroup }) => {
        if (this.liveCgroups.has(cgroup.path)) return;
        const pid = cgroup.members().sort((a, b) => a - b)[0];
        await empty(cgroup);
        if (pid !== undefined) stopped.push({ name, pid });
      }),
    );
    const byRecord = await stopLeftovers(this.records, (id) => this.liveRecords.has(id));
    return [...stopped, ...byRecord.stopped];
  }

  /** At shutdown: every control cgroup still there killed and removed (the subtree's removal follows). */
  async close(): Promise<void> {
    await Promise.all([...this.liveCgroups.values()].map(empty));
    this.liveCgroups.clear();
  }
}
