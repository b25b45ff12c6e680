import type { Socket } from "node:net";

/**
 * The limits of every listener, so that many or slow clients cannot starve the others: open
 * connections per listener (each costs a file descriptor and some memory; a connection that
 * sends nothing is dropped after 30 s: listener.ts), and concurrent streams per HTTP/2
 * connection (announced in its SETTINGS: a client past it gets REFUSED_STREAM).
 */
export const maxConnections = 1024;
export const maxConcurrentStreams = 256;

/** How often at most the daemon says that a listener refuses connections. */
const sayEveryMs = 60_000;

/** Counts a listener's open connections; refuses (closes at once) those past the limit. */
export class ConnectionGate {
  private open = 0;
  private lastSaid = 0;
  private readonly where: () => string;
  private readonly say: (message: string) => void;

  /** `where` names the listener; `say` hears of refusals (once a minute at most). */
  constructor(where: () => string, say: (message: string) => void) {
    this.where = where;
    this.say = say;
  }

  /** Counts `socket` in until it closes, or closes it when the listener is full. */
  admit(socket: Socket): boolean {
    if (this.open >= maxConnections) {
      socket.destroy();
      const now = Date.now();
      if (now - this.lastSaid >= sayEveryMs) {
        this.lastSaid = now;
        this.say(
          `connection limit reached on ${this.where()}: ${maxConnections} connections open, new ones are refused until some close`,
        );
      }
      return false;
    }
    this.open++;
    socket.once("close", () => this.open--);
    return true;
  }
}
