export type { HostPort } from "./address.js";
export { isLoopbackHost, splitHostPort } from "./address.js";
export { durationExpected, parseDurationSeconds } from "./duration.js";
export type { PlatformErrorCode } from "./errors.js";
export { PlatformError } from "./errors.js";
export type { JournalFields, JournalSender } from "./journal.js";
export {
  boundedJournalEntry,
  isJournalFieldName,
  journalDatagramMax,
  journalEntry,
  journalSocketPath,
  openJournalSender,
  parseJournalEntry,
  sendJournal,
} from "./journal.js";
export { readXattr } from "./libc.js";
export type { InetListenAddress, ListenAddress, UnixListenAddress } from "./listen-address.js";
export { formatListenAddress, parseListenAddress } from "./listen-address.js";
export type { ListenSocket, ListenSocketSpec, ListenSocketType } from "./listen-socket.js";
export { openListenSocket, watchConnections } from "./listen-socket.js";
export type {
  NotifyDrop,
  NotifyDropReason,
  NotifyFields,
  NotifyMessage,
  NotifySocket,
  NotifySocketOptions,
  SdNotifyOptions,
} from "./notify-socket.js";
export {
  formatNotifyMessage,
  notifyBufferMax,
  openNotifySocket,
  parseNotifyMessage,
  sdNotify,
} from "./notify-socket.js";
export type { CommandResult } from "./run-command.js";
export { runCommand } from "./run-command.js";
export {
  daemonRuntimeDir,
  runtimeDirectoryBase,
  systemRuntimeDir,
  userRuntimeDir,
} from "./runtime-dir.js";
export { commandLine, shellJoin, shellQuote } from "./shell-quote.js";
export { formatBytes } from "./size.js";
export type {
  DatagramReceiver,
  DatagramReceiverOptions,
  ReceivedDatagram,
  SenderCredentials,
} from "./unix-datagram.js";
export { drainReceiversNow, openDatagramReceiver } from "./unix-datagram.js";
export type { GroupEntry, PasswdEntry, UserDatabaseOptions } from "./users.js";
export {
  lookupGroup,
  lookupUser,
  parseGroupLine,
  parsePasswdLine,
  supplementaryGroupIds,
} from "./users.js";
export { secondDocumentLine } from "./yaml-documents.js";
