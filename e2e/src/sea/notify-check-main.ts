/**
 * Not a test: the program that `native-module.test.ts` builds into a single executable with
 * scripts/build-sea.mjs. It opens a notify socket at argv[0] (koffi, so its native module, in
 * the executable), sends itself a message through it with sdNotify, and prints what it received
 * as one JSON line.
 */
import { type NotifyMessage, openNotifySocket, sdNotify } from "@procmgr/platform";

export async function main(argv: readonly string[]): Promise<number> {
  const [path] = argv;
  if (path === undefined) {
    process.stderr.write("usage: notify-check <socket-path>\n");
    return 2;
  }
  let received: (m: NotifyMessage) => void = () => {};
  const message = new Promise<NotifyMessage>((resolve) => {
    received = resolve;
  });
  const socket = await openNotifySocket(path, (m) => received(m));
  await sdNotify({ READY: 1, STATUS: "from the single executable" }, { socketPath: path });
  const m = await message;
  await socket.close();
  process.stdout.write(`${JSON.stringify({ pid: m.pid, uid: m.uid, raw: m.raw })}\n`);
  return 0;
}
