/**
 * The processes.yaml the daemon writes when the user's config file does not exist: valid, no
 * process defined (the examples are commented out), every field documented with its default.
 * Uncommenting the block between the ">>> examples" and "<<< examples" markers (removing the
 * leading "# " of each line) yields valid definitions; a test proves it.
 */
export const defaultConfigText = `# processes.yaml — processes supervised by dd-procmgrd (procmgr)
#
# Apply changes with:  pm-cli reload-config   (or: systemctl reload dd-procmgrd, or SIGHUP)
# Errors in this file are reported as file:line:column: path: message, all at once.
#
# Layout: one top-level "processes:" map of NAME -> definition. A NAME is non-empty, without
# whitespace or "/". Definitions can also live in processes.d/ next to this file, one file per
# process: processes.d/webapp.yaml holds the definition of "webapp" (the map below without the
# "processes:" and name levels). A name defined twice is an error. Top-level keys starting with
# "x-" are ignored (handy for YAML anchors: "x-defaults: &defaults", then "<<: *defaults").
#
# Fields (all optional except command; durations are seconds or "500ms", "30s", "1m30s", "infinity"):
#   command                  program and inline arguments, split like a shell (quotes honoured) but
#                            run WITHOUT a shell: no $VAR, globs, pipes or redirections (use
#                            bash -c '...' for those). Relative programs are searched in PATH.
#   args                     [] extra arguments appended after those of command
#   description              free text
#   user / group             run as this user (with its supplementary groups) / primary group;
#                            default: the daemon's user. Checked with getent when starting.
#   working_dir              absolute directory to run in (default: the user's home or /)
#   env                      {} map of NAME: value, merged over a clean base (PATH, HOME, USER...)
#   environment_file         absolute path of KEY=VALUE lines (# comments); "-/path" = optional
#   auto_start               false  start on daemon start / config reload
#   restart                  never  never | always | on-failure | on-success
#   restart_sec              1      first restart delay, doubled at each failure...
#   restart_max_delay_sec    60     ...up to this; reset once the process stays up long enough
#   start_limit_burst        5      more starts than this within start_limit_interval_sec...
#   start_limit_interval_sec 10     ...puts the process in "failed" until a manual start
#   timeout_start_sec        90     time allowed to become ready (notify, forking, oneshot)
#   timeout_stop_sec         90     after kill_signal, wait this long, then SIGKILL the cgroup
#   kill_signal              SIGTERM  a name (SIGTERM, TERM) or a number (15)
#   kill_mode                control-group  control-group | process-group | process | mixed
#   success_exit_status      [0]    exit codes counted as success (exited, not failed)
#   stdout / stderr          default: <state dir>/logs/NAME.stdout.log / NAME.stderr.log (or the
#                            journal when the daemon runs with --process-output journal);
#                            or an absolute file path (appended), journal (journald, one entry per
#                            line: journalctl -t NAME), inherit (the daemon's), null (discard)
#   log_max_size             none   rotate each log file past this size (bytes or "10M", "1G"): it becomes
#                            FILE.1 (FILE.1 -> FILE.2 ...), cut at a line end, a new FILE opened
#   log_max_files            5      rotated files kept (FILE.1 ... FILE.N, the oldest deleted); at least 1
#   pidfile                  absolute path where the daemon writes the main PID (removed at exit);
#                            forking: where the program writes it
#   exec_start_pre           [] command(s) run before command; a string or a list of strings
#   exec_start_post          [] command(s) run after the process started
#   exec_stop_post           [] command(s) run after the process stopped
#   runtime_directory        [] directories created under /run (or $XDG_RUNTIME_DIR), owned by user
#   condition_path_exists    [] start only if the path exists; "!path" = must not exist;
#                            "|path" = at least one of the "|" entries must exist
#   log_timestamps           false  start each line of the log files with its arrival time
#   ambient_capabilities     [] e.g. [net_bind_service] or CAP_NET_BIND_SERVICE
#   sockets                  [] listening sockets the daemon holds and passes as fd 3 on
#                            (LISTEN_FDS, as systemd): "127.0.0.1:8080", "[::1]:8080", ":8080",
#                            "/run/app.sock", "name=..." before it, or {listen, name, type:
#                            stream|datagram, backlog, mode, owner}; kept across restarts
#   start_on_connect         false  started by the first connection to one of its sockets
#   after / before           [] start ordering relative to other processes (cycles are errors)
#   requires / wants         [] start these too (requires: fail if they fail)
#   binds_to                 [] stop this process when one of these stops
#   conflicts                [] never run at the same time as these
#   process_type             simple  when it is ready (running; dependents start after it):
#                            simple: once the program is executed; oneshot: when it exits with
#                            success (then "exited", done); notify: when it sends READY=1 on
#                            $NOTIFY_SOCKET (sd_notify); forking: when the first process exited
#                            and pidfile names the main process (read, not written)
#   watchdog_sec             0      notify only: restarted when no WATCHDOG=1 comes this long
#   health_check             none; type: http | tcp | exec, interval 30, timeout 5, retries 3,
#                            start_period 0, restart_after 0 (restart after N consecutive failures;
#                            0 = never), http: endpoint (URL, or "/path" with port), method GET,
#                            expected_status 200; tcp: host, port; exec: command, args
#   resource_limits          none; cpu ("500m" or 1.5 cores), memory (bytes or "512M", "2G"), pids:
#                            enforced through the process's own cgroup (pm-cli describe says how)
#
# An empty processes: map (as below) supervises nothing.

processes:

# >>> examples: remove the leading "# " of the lines down to "<<< examples" to try them
#   # A web application: gunicorn, restarted whenever it exits, health-checked over HTTP.
#   webapp:
#     description: Main web application
#     command: gunicorn app:app --workers 4 --bind 127.0.0.1:8000
#     user: www-data
#     group: www-data
#     working_dir: /var/www/app
#     env:
#       DJANGO_SETTINGS_MODULE: app.settings.production
#       PORT: 8000
#     environment_file: -/etc/default/webapp
#     auto_start: true
#     restart: always
#     restart_sec: 2
#     restart_max_delay_sec: 120
#     timeout_stop_sec: 30
#     stdout: /var/log/dd-procmgrd/webapp.log
#     stderr: /var/log/dd-procmgrd/webapp-error.log
#     log_max_size: 100M # each file rotated past 100 MiB: webapp.log.1 ... .5
#     after: [migrate]
#     requires: [migrate]
#     health_check:
#       type: http
#       endpoint: http://127.0.0.1:8000/health
#       interval: 30s
#       timeout: 5s
#       retries: 3
#       start_period: 10s
#       restart_after: 3
#     resource_limits:
#       cpu: 1.5
#       memory: 1G
#       pids: 256
#
#   # A background worker: command plus an args list, restarted only when it fails.
#   worker:
#     command: /usr/bin/celery
#     args: ["-A", "app", "worker", "--loglevel", "info"]
#     user: www-data
#     working_dir: /var/www/app
#     auto_start: true
#     restart: on-failure
#     restart_sec: 10
#     kill_signal: SIGINT
#     success_exit_status: [0, 3]
#     after: [webapp]
#     wants: [webapp]
#
#   # A one-shot job run before the web app: preparation steps, then the migration.
#   migrate:
#     process_type: oneshot
#     command: python manage.py migrate --noinput
#     working_dir: /var/www/app
#     user: www-data
#     exec_start_pre:
#       - mkdir -p /var/www/app/static
#       - python manage.py collectstatic --noinput
#     stdout: inherit
#     stderr: inherit
#     condition_path_exists: /var/www/app/manage.py
#
#   # A small TCP service checked by connecting to its port; binds to port 80 without root.
#   proxy:
#     command: /usr/local/bin/proxy --listen :80
#     user: nobody
#     ambient_capabilities: [net_bind_service]
#     runtime_directory: proxy
#     pidfile: /run/proxy/proxy.pid
#     restart: always
#     health_check:
#       type: tcp
#       port: 80
# <<< examples
`;
