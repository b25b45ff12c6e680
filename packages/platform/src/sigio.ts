/**
 * The one process-wide SIGIO listener, shared by everything here that is woken by signal-driven
 * I/O (O_ASYNC on a descriptor owned by this process, F_SETOWN): the unix datagram receivers
 * (unix-datagram.ts) and the watched listening sockets (listen-socket.ts). Why signal-driven I/O
 * at all (no thread held, Node has no uv_poll): see unix-datagram.ts.
 *
 * SIGIO does not say which descriptor it is for (F_SETSIG would, through siginfo, which Node does
 * not hand out), so every signal is offered to every subscriber, and each checks its own
 * descriptors without blocking. A subscriber is called from the signal's listener (libuv reads
 * caught signals in the poll phase) and should only schedule its work (setImmediate): signals
 * coalesce, one call may stand for many events, and many calls for one.
 *
 * What this keeps, in one place:
 * - The listener is installed when the first subscriber comes, which must be before it sets its
 *   first O_ASYNC: SIGIO's default action terminates the process.
 * - It is removed one turn of the event loop after the last subscriber left, each having cleared
 *   its O_ASYNC first: a SIGIO raised just before may still be on its way to a thread, and must
 *   land on the listener rather than on the default action. A subscriber that could not clear
 *   its O_ASYNC calls {@link keepSigioListener}: the listener then stays for good.
 * - While there is a subscriber the process is kept alive (Node unrefs signal listeners, and a
 *   loop that exits never reads the signals already caught): a ref'd MessagePort that nothing is
 *   ever sent on, a handle that never wakes the loop up.
 * - Main thread only: signals are delivered to its listeners, a worker thread has none.
 */
import { isMainThread, MessageChannel, type MessagePort } from "node:worker_threads";
import { PlatformError } from "./errors.js";

interface Subscriber {
  readonly onSignal: () => void;
}

const subscribers = new Set<Subscriber>();
let keepForever = false;
let keepAlive: MessagePort | undefined;

function onSigio(): void {
  for (const subscriber of [...subscribers]) {
    if (subscribers.has(subscriber)) subscriber.onSignal();
  }
}

function installed(): boolean {
  return process.listeners("SIGIO").includes(onSigio);
}

/**
 * Calls `onSignal` at each SIGIO until the returned function is called; that function resolves
 * once the listener is gone (or stays, for another subscriber), and is idempotent. `what` names
 * the caller in the error thrown in a worker thread.
 */
export function subscribeSigio(onSignal: () => void, what: string): () => Promise<void> {
  if (!isMainThread) {
    throw new PlatformError(
      "main-thread-only",
      `${what}: signal-driven I/O (SIGIO) works on the main thread only, whose listeners receive signals, not in a worker thread`,
    );
  }
  const subscriber: Subscriber = { onSignal };
  subscribers.add(subscriber);
  if (!installed()) process.on("SIGIO", onSigio);
  if (keepAlive === undefined) {
    keepAlive = new MessageChannel().port1;
    keepAlive.ref();
  }
  let released: Promise<void> | undefined;
  return () => {
    released ??= release(subscriber);
    return released;
  };
}

async function release(subscriber: Subscriber): Promise<void> {
  subscribers.delete(subscriber);
  if (subscribers.size > 0) return;
  await new Promise((resolve) => setImmediate(resolve));
  if (subscribers.size > 0) return;
  keepAlive?.close();
  keepAlive = undefined;
  if (!keepForever) process.removeListener("SIGIO", onSigio);
}

/** A descriptor kept its O_ASYNC (fcntl failed): the listener stays, lest a SIGIO kill us. */
export function keepSigioListener(): void {
  keepForever = true;
}
