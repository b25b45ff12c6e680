import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SupervisorError } from "./errors.js";
import {
  isDown,
  nextState,
  type ProcessEvent,
  processEvents,
  transition,
} from "./state-machine.js";
import { type ProcessState, processStates } from "./types.js";

/**
 * Every state x every event, written out here on its own: the state each legal event leads
 * to, "-" where the event is illegal. Columns in `processEvents` order.
 */
const expected = `
           start     spawn     ready    stop      cancel   skip     skip-restart  fail    end-stopped  end-exited  end-failed  end-backoff
created    starting  -         -        -         -        stopped  -             failed  -            -           -           -
starting   starting  starting  running  stopping  stopped  -        exited        failed  stopped      exited      failed      backoff
running    starting  -         running  stopping  -        -        exited        -       stopped      exited      failed      backoff
stopping   starting  -         -        -         -        -        exited        -       stopped      exited      failed      backoff
stopped    starting  -         -        -         -        stopped  -             failed  -            -           -           -
exited     starting  -         -        -         -        exited   -             failed  -            -           -           -
failed     starting  -         -        -         -        stopped  -             failed  -            -           -           -
backoff    starting  -         -        -         stopped  stopped  exited        failed  -            -           -           -
`;

const [header = "", ...rows] = expected.trim().split("\n");
const columns = header.trim().split(/\s+/) as ProcessEvent[];
const matrix = new Map<ProcessState, Map<ProcessEvent, ProcessState | undefined>>(
  rows.map((row) => {
    const [state, ...cells] = row.trim().split(/\s+/);
    return [
      state as ProcessState,
      new Map(
        columns.map((event, i) => {
          const cell = cells[i];
          return [event, cell === "-" ? undefined : (cell as ProcessState)];
        }),
      ),
    ];
  }),
);

describe("state machine", () => {
  it("the expected matrix covers every state and every event", () => {
    assert.deepEqual(columns, [...processEvents]);
    assert.deepEqual([...matrix.keys()], [...processStates]);
    for (const cells of matrix.values()) {
      for (const to of cells.values()) if (to !== undefined) assert.ok(processStates.includes(to));
    }
  });

  for (const state of processStates) {
    for (const event of processEvents) {
      const to = matrix.get(state)?.get(event);
      if (to !== undefined) {
        it(`${state} --${event}--> ${to}`, () => {
          assert.equal(nextState(state, event), to);
          assert.equal(transition(state, event, "web"), to);
        });
      } else {
        it(`${state} --${event}--> rejected`, () => {
          assert.equal(nextState(state, event), undefined);
          assert.throws(
            () => transition(state, event, "web"),
            (e: unknown) =>
              e instanceof SupervisorError &&
              e.code === "invalid-state" &&
              e.message === `process "web": event "${event}" is not allowed in state "${state}"`,
          );
        });
      }
    }
  }

  it("every state is reachable from created, and every state can come to rest in stopped", () => {
    const reachable = (from: ProcessState): Set<ProcessState> => {
      const seen = new Set<ProcessState>([from]);
      for (const s of seen) {
        for (const e of processEvents) {
          const to = nextState(s, e);
          if (to !== undefined) seen.add(to);
        }
      }
      return seen;
    };
    assert.deepEqual([...reachable("created")].sort(), [...processStates].sort());
    for (const s of processStates) assert.ok(reachable(s).has("stopped"), s);
  });

  it("every event is legal somewhere; the moves to the same state are the listed ones", () => {
    for (const e of processEvents) {
      assert.ok(
        processStates.some((s) => nextState(s, e) !== undefined),
        e,
      );
    }
    const selfMoves = processStates.flatMap((s) =>
      processEvents.filter((e) => nextState(s, e) === s).map((e) => `${s}/${e}`),
    );
    assert.deepEqual(selfMoves, [
      "starting/start",
      "starting/spawn",
      "running/ready",
      "stopped/skip",
      "exited/skip",
      "failed/fail",
    ]);
  });

  it("down states (binds_to dependents stop) are stopped, exited and failed", () => {
    assert.deepEqual(
      processStates.filter((s) => isDown(s)),
      ["stopped", "exited", "failed"],
    );
  });

  it("an unnamed subject reads 'a process'", () => {
    assert.throws(() => transition("stopped", "spawn"), {
      message: 'a process: event "spawn" is not allowed in state "stopped"',
    });
  });
});
