import { userInfo } from "node:os";
import { type DaemonSettings, remoteBindRefusal } from "@procmgr/config";
import { type HostPort, splitHostPort } from "@procmgr/platform";
import { type ApiOptions, createApiHandlers } from "./api-handler.js";
import type { CallerTransport } from "./auth.js";
import { DaemonError } from "./errors.js";
import {
  type Listener,
  listenTcp,
  listenTls,
  listenUnix,
  type RequestHandler,
  type TlsListener,
} from "./listener.js";
import type { Logger } from "./logger.js";
import { loadTlsMaterial, type TlsMaterial } from "./tls.js";
import { TokenFile } from "./token-file.js";

/** The settings and log, and what the API serves (api-handler.ts) but the token and user. */
export interface ApiServerOptions extends Omit<ApiOptions, "token" | "daemonUser"> {
  readonly settings: DaemonSettings;
  readonly log: Logger;
}

/**
 * The TCP listener's host and port, checked against the remote-bind rule (the settings were
 * resolved by resolveDaemonSettings; this is the last check, for settings made otherwise).
 */
export function tcpBinding(settings: DaemonSettings): HostPort | undefined {
  if (settings.bindAddress === null) return undefined;
  const hostPort = splitHostPort(settings.bindAddress);
  if (hostPort === undefined) {
    throw new DaemonError(
      "usage",
      `invalid bind address "${settings.bindAddress}": expected host:port`,
    );
  }
  const refusal = remoteBindRefusal(hostPort.host, settings.allowRemote, settings.tls !== null);
  if (refusal !== undefined) {
    throw new DaemonError("remote-bind", `refusing to bind ${settings.bindAddress}: ${refusal}`);
  }
  return hostPort;
}

/**
 * The daemon's API endpoints: the unix socket (trusted by its permissions) and the TCP listener
 * (the token for privileged calls; TLS when configured, its certificate reloadable).
 */
export class ApiServer {
  private readonly settings: DaemonSettings;
  private readonly log: Logger;
  private listeners: Listener[] = [];
  private tlsListener: TlsListener | undefined;
  private token: TokenFile | undefined;
  private readonly makeHandler: (transport: CallerTransport) => RequestHandler;

  constructor(options: ApiServerOptions) {
    this.settings = options.settings;
    this.log = options.log;
    this.makeHandler = createApiHandlers({
      service: options.service,
      health: options.health,
      shutdownSignal: options.shutdownSignal,
      token: () => this.token?.current() ?? "",
      daemonUser: userInfo().username,
    });
  }

  /** `unix:/path`, `host:port` or `https://host:port` of each listener (real ports). */
  get addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  /**
   * Checks the TCP binding and reads the TLS files first (an error names the file), then
   * listens: the unix socket, the token file, the TCP listener.
   */
  async listen(): Promise<void> {
    const s = this.settings;
    const tcp = tcpBinding(s);
    const tls = tcp !== undefined && s.tls !== null ? await loadTlsMaterial(s.tls) : undefined;
    const onLimit = (message: string) => this.log.warn(message);
    this.listeners.push(await listenUnix(s.socketPath, this.makeHandler("unix"), onLimit));
    if (tcp === undefined) return;
    this.token = new TokenFile(s.tokenPath, this.log);
    await this.token.create();
    const handler = this.makeHandler("tcp");
    if (tls === undefined) {
      this.listeners.push(await listenTcp(tcp.host, tcp.port, handler, onLimit));
      return;
    }
    this.logCertificate("TLS certificate loaded", tls);
    this.tlsListener = await listenTls(tcp.host, tcp.port, handler, {
      context: tls.context,
      requireClientCert: s.tls !== null && s.tls.clientCaPath !== null,
      onLimit,
      onClientError: (e, remote) => {
        this.log.debug("TLS handshake failed", { remote, error: e.message });
      },
    });
    this.listeners.push(this.tlsListener);
  }

  /**
   * SIGHUP: reads the TLS files again and serves the new certificate (and client CAs) from the
   * next handshake on. A file that fails keeps the previous ones, and says why.
   */
  async reloadTls(): Promise<void> {
    const { tls } = this.settings;
    if (this.tlsListener === undefined || tls === null) return;
    try {
      const material = await loadTlsMaterial(tls);
      this.tlsListener.setSecureContext(material.context);
      this.logCertificate("TLS certificate reloaded", material);
    } catch (e) {
      this.log.error(
        `TLS reload failed, still serving the previous certificate: ${(e as Error).message}`,
      );
    }
  }

  private logCertificate(message: string, tls: TlsMaterial): void {
    const fields = {
      cert: this.settings.tls?.certPath,
      subject: tls.subject,
      expires: tls.validTo,
      client_ca: this.settings.tls?.clientCaPath ?? "none",
    };
    if (tls.expired) this.log.warn(`${message}, but it has expired`, fields);
    else this.log.info(message, fields);
  }

  /** Closes every listener and removes the token file. */
  async close(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.close().catch(() => {})));
    this.listeners = [];
    this.tlsListener = undefined;
    await this.token?.remove().catch(() => {});
  }
}
