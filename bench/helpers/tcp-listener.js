/**
 * A TCP listener on 127.0.0.1 for the health-check workload's "listener in another process"
 * run: accepts and closes every connection (nothing read), prints its port, then on SIGUSR1 the
 * number of connections accepted so far; exits on SIGTERM.
 */
import { createServer } from "node:net";

let accepted = 0;
const server = createServer({ pauseOnConnect: true }, (socket) => {
  accepted++;
  socket.on("error", () => {});
  socket.destroy();
});
server.listen(0, "127.0.0.1", 4096, () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on("SIGUSR1", () => process.stdout.write(`${accepted}\n`));
process.on("SIGTERM", () => process.exit(0));
