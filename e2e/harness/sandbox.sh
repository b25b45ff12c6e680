#!/bin/bash
# sandbox.sh - the shell half of e2e/src/harness/systemd-sandbox.ts: boots a REAL
# systemd (the host's /lib/systemd/systemd) as PID 1 of new PID/mount/UTS/IPC/net/
# cgroup namespaces over a volatile RAM overlay of the host's "/".
#
#   sandbox.sh inner STATE NAME   stage 2, run by `unshare ... --fork` as PID 1 of the new
#                                 namespaces (the TypeScript side launches it)
#   sandbox.sh stop STATE         SIGKILL the sandbox's PID 1, wait until its cgroup is
#                                 empty, remove the cgroup sub-tree and the state dir
#   sandbox.sh probe              exit 0 when the kernel lets us create the namespaces
#
# STATE is a host directory holding: pid (host PID of the sandbox's PID 1), unshare.pid,
# cgroup (host path of the sandbox's cgroup2 sub-tree), console.log, root/ and rw/ (empty
# mount points; the mounts only exist in the sandbox's private mount namespace).
# Env for `inner`: PROCMGR_SANDBOX_TTL (s, default 600; systemd powers itself off after
# that even if nobody stops it), PROCMGR_SANDBOX_TMPFS (upper layer size, default 1G).
#
# Not a security boundary: root inside is host root with CAP_SYS_ADMIN. It protects the
# host from accidents (tmpfiles wiping /tmp, units, users, /etc writes all land in RAM).
set -u
SYSTEMD=/lib/systemd/systemd
# capabilities removed from the sandbox's bounding set (no module loading, clock, raw io...)
DROP_CAPS=-sys_module,-sys_time,-sys_rawio,-syslog,-sys_pacct,-wake_alarm,-block_suspend,-mac_admin,-mac_override,-audit_control,-audit_read,-lease,-linux_immutable

# true if host PID $1 lives in cgroup2 sub-tree $2 (relative to the cgroup2 root, e.g.
# /procmgr-sbx.x-12-1): guards every kill against PID reuse
in_cgroup() { grep -qE "^0::$2(/|\$)" "/proc/$1/cgroup" 2>/dev/null; }

inner() {
    set -eu
    local S=$1 name=$2
    local R=$S/root RW=$S/rw hostpid
    # host-view PID of this process (the /proc mounted now is still the host's procfs)
    read -r hostpid _ < /proc/self/stat
    echo "$hostpid" > "$S/pid.tmp"
    [ "$$" = 1 ] || { echo "inner: not PID 1 of a new PID namespace" >&2; exit 1; }
    # libmount writes its utab under /run/mount: the host /run is a plain directory
    export LIBMOUNT_UTAB=$S/utab
    mount --make-rprivate /

    # volatile root: overlay(lower = host / read-only, upper = tmpfs)
    mount -t tmpfs -o "mode=755,size=${PROCMGR_SANDBOX_TMPFS:-1G}" sbx-rw "$RW"
    mkdir "$RW/upper" "$RW/work"
    mount -t overlay sbx-root -o "lowerdir=/,upperdir=$RW/upper,workdir=$RW/work" "$R"
    [ "$(stat -f -c %T "$R")" = overlayfs ] || { echo "inner: overlay not mounted" >&2; exit 1; }

    # API file systems
    mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
    for p in sys sysrq-trigger irq bus; do
        [ -e "$R/proc/$p" ] || continue
        mount --bind "$R/proc/$p" "$R/proc/$p"
        mount -o remount,bind,ro "$R/proc/$p"
    done
    mount --bind /dev/null "$R/proc/kcore" 2>/dev/null || true
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
    # we are inside the cgroup namespace rooted at the sandbox's sub-tree
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"

    mount -t tmpfs -o mode=755,nosuid,strictatime,size=16M sbx-dev "$R/dev"
    local D=$R/dev
    mknod -m 666 "$D/null" c 1 3;  mknod -m 666 "$D/zero" c 1 5
    mknod -m 666 "$D/full" c 1 7;  mknod -m 666 "$D/random" c 1 8
    mknod -m 666 "$D/urandom" c 1 9; mknod -m 666 "$D/tty" c 5 0
    mkdir -m 755 "$D/pts" "$D/shm" "$D/mqueue" "$D/net"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$D/pts"
    ln -s pts/ptmx "$D/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev sbx-shm "$D/shm"
    mount -t mqueue -o nosuid,nodev,noexec mqueue "$D/mqueue"
    ln -s /proc/self/fd "$D/fd"
    ln -s /proc/self/fd/0 "$D/stdin"; ln -s /proc/self/fd/1 "$D/stdout"; ln -s /proc/self/fd/2 "$D/stderr"
    # a console nobody reads would block systemd: give it /dev/null (the journal has it all)
    touch "$D/console"; mount --bind "$D/null" "$D/console"

    mount -t tmpfs -o mode=755,nosuid,nodev,size=256M sbx-run "$R/run"
    mount -t tmpfs -o mode=1777,nosuid,nodev,size=512M sbx-tmp "$R/tmp"
    # the repo (tests run its builds inside) at the same path, read-only: it may live under /tmp
    # or /run, which the tmpfs mounts above hide
    if [ -n "${PROCMGR_SANDBOX_SHARE:-}" ]; then
        mkdir -p "$R$PROCMGR_SANDBOX_SHARE"
        mount --bind "$PROCMGR_SANDBOX_SHARE" "$R$PROCMGR_SANDBOX_SHARE"
        mount -o remount,bind,ro "$R$PROCMGR_SANDBOX_SHARE"
    fi

    # switch root and detach the host's
    cd "$R"
    pivot_root . .
    umount -l .
    cd /
    [ "$(stat -f -c %T /)" = overlayfs ] || { echo "inner: / is not the overlay" >&2; exit 1; }

    # identity and unit set (all writes land in the RAM upper layer)
    local host="sbx-${name:0:58}"
    hostname "$host"
    echo "$host" > /etc/hostname
    rm -f /etc/machine-id; systemd-id128 new > /etc/machine-id
    mkdir -p /run/systemd; echo procmgr-sandbox > /run/systemd/container
    # start like a fresh install: drop units the host image enabled locally
    rm -f /etc/systemd/system/*.wants/* /etc/systemd/system/default.target
    ln -sf /lib/systemd/system/multi-user.target /etc/systemd/system/default.target
    # safety net: the sandbox powers itself off after TTL seconds even if never stopped
    local ttl=${PROCMGR_SANDBOX_TTL:-600}
    if [ "$ttl" -gt 0 ]; then
        printf '[Unit]\nDescription=sandbox lifetime limit\n[Timer]\nOnActiveSec=%s\nAccuracySec=1s\n[Install]\nWantedBy=timers.target\n' "$ttl" \
            > /etc/systemd/system/sandbox-ttl.timer
        printf '[Unit]\nDescription=sandbox lifetime limit reached\n[Service]\nType=oneshot\nExecStart=/bin/systemctl --no-block poweroff\n' \
            > /etc/systemd/system/sandbox-ttl.service
        mkdir -p /etc/systemd/system/timers.target.wants
        ln -sf ../sandbox-ttl.timer /etc/systemd/system/timers.target.wants/sandbox-ttl.timer
    fi
    for u in getty@tty1.service console-getty.service systemd-timesyncd.service \
             apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
             fstrim.timer man-db.timer dpkg-db-backup.timer systemd-random-seed.service; do
        ln -sf /dev/null "/etc/systemd/system/$u"
    done

    exec env -i container=procmgr-sandbox TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        setpriv --bounding-set "$DROP_CAPS" -- \
        "$SYSTEMD" --system --unit=multi-user.target --show-status=no --log-target=journal
}

stop() {
    local S=$1 p up cg rel cg2
    [ -d "$S" ] || return 0
    up=$(cat "$S/unshare.pid" 2>/dev/null || true)
    p=$(cat "$S/pid" 2>/dev/null || cat "$S/pid.tmp" 2>/dev/null || true)
    cg=$(cat "$S/cgroup" 2>/dev/null || true)
    cg2=$(cat "$S/cgroup2root" 2>/dev/null || true)
    rel=${cg#"$cg2"}
    # SIGKILL to the namespace's PID 1 kills every process of its PID namespace; the mount
    # namespace (overlay + tmpfs) dies with the last process
    if [ -n "$p" ] && [ -n "$cg" ] && in_cgroup "$p" "$rel"; then kill -9 "$p" 2>/dev/null; fi
    if [ -n "$cg" ] && [ -e "$cg/cgroup.events" ]; then
        for _ in $(seq 200); do grep -q '^populated 0' "$cg/cgroup.events" && break; sleep 0.05; done
    fi
    # unshare exits by itself once its child is gone; kill it if it is still ours
    if [ -n "$up" ] && [ -e "/proc/$up" ] && [ "$(awk '{print $3}' "/proc/$up/stat" 2>/dev/null)" != Z ] \
       && tr '\0' ' ' 2>/dev/null < "/proc/$up/cmdline" | grep -qF "inner $S "; then
        kill -9 "$up" 2>/dev/null
    fi
    if [ -n "$cg" ] && [ -d "$cg" ]; then
        for _ in $(seq 100); do
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$cg" ] || break; sleep 0.05
        done
        if [ -d "$cg" ]; then
            echo "sandbox: cgroup $cg not removed (procs: $(tr '\n' ' ' < "$cg/cgroup.procs"))" >&2
            return 1
        fi
    fi
    # only small state files and two EMPTY mount-point dirs remain: never rm -r here
    rm -f "$S/pid" "$S/pid.tmp" "$S/unshare.pid" "$S/cgroup" "$S/cgroup2root" "$S/console.log" \
          "$S/owner" "$S/utab" "$S/utab.lock"
    rmdir "$S/root" "$S/rw" "$S" 2>/dev/null || { echo "sandbox: $S not empty, left in place" >&2; return 1; }
    return 0
}

cmd=${1:-}; shift || true
case $cmd in
    inner) inner "$@" ;;
    stop)  stop "$@" ;;
    probe) exec unshare --mount --propagation private --pid --fork --uts --ipc --net --cgroup -- true ;;
    *) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
