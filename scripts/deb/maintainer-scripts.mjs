// The Debian package's maintainer scripts (used by scripts/build-deb.mjs). Plain sh, no debconf,
// no debhelper. The system units, the service user and the package's directories are named once
// here.

/** The system units the package ships (the user unit is not managed by the scripts). */
export const SYSTEM_UNITS = [
  "dd-procmgrd.service",
  "dd-procmgrd-capability.service",
  "dd-procmgrd-secure.service",
];
export const SERVICE_USER = "dd-procmgrd";
/** What purge removes besides the package's files: config, state, logs, runtime, native cache. */
const PURGED_DIRS = [
  "/etc/dd-procmgrd",
  "/var/lib/dd-procmgrd",
  "/var/log/dd-procmgrd",
  "/run/dd-procmgrd",
];
/** Where a root daemon run outside systemd extracts koffi's native module (scripts/sea-koffi.mjs). */
const NATIVE_CACHE = "/run/dd-procmgr-native-0";

const units = SYSTEM_UNITS.join(" ");

/**
 * postinst configure: the service user (for the capability unit), the config directory readable
 * by it, daemon-reload. The service is enabled and started only when the admin asks:
 * `DD_PROCMGRD_ENABLE=1 dpkg -i ...` (or `systemctl enable --now dd-procmgrd` later). On upgrade
 * the running variants are restarted on the new executable.
 */
export const postinst = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd ${SERVICE_USER} >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/dd-procmgrd --no-create-home \\
      --shell /usr/sbin/nologin --comment "procmgr daemon" ${SERVICE_USER}
  fi
  if [ -z "$2" ]; then
    # First install: the capability unit runs as ${SERVICE_USER}, which must read the config.
    chown root:${SERVICE_USER} /etc/dd-procmgrd /etc/dd-procmgrd/processes.yaml
    chmod 0750 /etc/dd-procmgrd
    chmod 0640 /etc/dd-procmgrd/processes.yaml
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    if [ -n "$2" ]; then
      for unit in ${units}; do systemctl try-restart "$unit" || true; done
    fi
    if [ "\${DD_PROCMGRD_ENABLE:-}" = 1 ]; then
      systemctl enable --now dd-procmgrd.service
    fi
  fi
fi
exit 0
`;

/** prerm remove: stop and disable every variant (their unit files go with the package). */
export const prerm = `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop ${units} || true
fi
if [ "$1" = remove ]; then
  systemctl disable ${units} >/dev/null 2>&1 || true
fi
exit 0
`;

/** postrm: daemon-reload after removal; purge removes the user and every directory left. */
export const postrm = `#!/bin/sh
set -e
case "$1" in
  remove|purge)
    rm -rf ${NATIVE_CACHE}
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    ;;
esac
if [ "$1" = purge ]; then
  rm -rf ${PURGED_DIRS.join(" ")}
  if getent passwd ${SERVICE_USER} >/dev/null; then userdel ${SERVICE_USER} || true; fi
  if getent group ${SERVICE_USER} >/dev/null; then groupdel ${SERVICE_USER} || true; fi
fi
exit 0
`;

/**
 * logrotate: the daemon reopens every log file on SIGHUP (`systemctl reload`), so no
 * copytruncate; `create` keeps each file's owner and mode. Whichever variant runs is reloaded.
 */
export const logrotate = `/var/log/dd-procmgrd/*.log {
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    create
    sharedscripts
    postrotate
        for unit in ${units}; do
            if systemctl -q is-active "$unit"; then systemctl reload "$unit"; fi
        done
    endscript
}
`;
