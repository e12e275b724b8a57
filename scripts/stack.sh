#!/usr/bin/env bash
# Start, stop or show the stack ovn-driver runs on, on one Debian 12 host, without systemd:
#   OVS (ovsdb-server + ovs-vswitchd, userspace datapath), OVN central (NB/SB databases and
#   ovn-northd), ovn-controller, containerd, dockerd, and the ovn-driver-busybox image.
#
#   scripts/stack.sh start    start what is not already running, one line per component
#   scripts/stack.sh stop     stop, by pid, only what `start` started (recorded in $STATE_DIR)
#   scripts/stack.sh status   one line per component
#   scripts/stack.sh restart-dockerd   stop and start again the dockerd `start` started
#
# There is no OVS kernel module here, so bridges use the userspace datapath (netdev); packets
# still flow between veths in different namespaces through OVN.
set -euo pipefail

STATE_DIR=${OVN_DRIVER_STACK_STATE:-/run/ovn-driver-stack}
LOG_DIR=${OVN_DRIVER_STACK_LOGS:-/var/log/ovn-driver-stack}
IMAGE=${OVN_DRIVER_IMAGE:-ovn-driver-busybox:latest}
DOCKER=/usr/bin/docker          # the 20.10 client; /usr/local/bin may hold another one
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
OVN_CTL=/usr/share/ovn/scripts/ovn-ctl
OVS_RUN=/var/run/openvswitch
OVN_RUN=/var/run/ovn
OVS_SOCK=$OVS_RUN/db.sock
NB_SOCK=$OVN_RUN/ovnnb_db.sock
SB_SOCK=$OVN_RUN/ovnsb_db.sock
CONTAINERD_SOCK=/run/containerd/containerd.sock
DOCKER_SOCK=/var/run/docker.sock
TIMEOUT=${OVN_DRIVER_STACK_TIMEOUT:-60}   # seconds each component gets to come up

say() { printf '%-16s %s\n' "$1" "$2"; }

# fail COMPONENT MESSAGE [LOGFILE]: print the reason and the log's tail, then exit.
fail() {
  say "$1" "FAILED: $2" >&2
  if [ -n "${3:-}" ] && [ -f "$3" ]; then
    echo "---- last lines of $3 ----" >&2
    tail -n 25 "$3" >&2
  fi
  exit 1
}

# pid_alive PIDFILE: the file names a live process (a zombie, dead but not reaped, is not).
pid_alive() {
  local pid state
  [ -f "$1" ] || return 1
  pid=$(tr -d ' \n' <"$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# record NAME PID: remember that this script started NAME, so `stop` stops only that.
record() { mkdir -p "$STATE_DIR"; echo "$2" >"$STATE_DIR/$1.pid"; }

# wait_until COMPONENT LOGFILE COMMAND...: poll COMMAND every 0.1 s, up to $TIMEOUT seconds.
wait_until() {
  local name=$1 log=$2 deadline
  shift 2
  deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "$name" "not up after ${TIMEOUT}s (waited for: $*)" "$log"
    fi
    sleep 0.1
  done
}

ovs_vsctl() { ovs-vsctl --timeout=5 "$@"; }

system_id() {
  local id_file=/etc/openvswitch/system-id.conf
  if [ ! -s "$id_file" ]; then
    mkdir -p /etc/openvswitch
    tr -d '\n' </proc/sys/kernel/random/uuid >"$id_file"
  fi
  tr -d ' \n' <"$id_file"
}

start_ovsdb() {
  local log=/var/log/openvswitch/ovsdb-server.log
  if pid_alive "$OVS_RUN/ovsdb-server.pid"; then
    say ovsdb-server "already running (pid $(cat "$OVS_RUN/ovsdb-server.pid"))"
    return
  fi
  # ovs-ctl creates or upgrades conf.db and sets system-id/ovs-version; without vswitchd it
  # loads no kernel module.
  "$OVS_CTL" --no-ovs-vswitchd --system-id="$(system_id)" start >>"$LOG_DIR/ovs-ctl.log" 2>&1 ||
    fail ovsdb-server "ovs-ctl start failed" "$LOG_DIR/ovs-ctl.log"
  wait_until ovsdb-server "$log" test -S "$OVS_SOCK"
  record ovsdb-server "$(cat "$OVS_RUN/ovsdb-server.pid")"
  say ovsdb-server "started (pid $(cat "$OVS_RUN/ovsdb-server.pid"), $OVS_SOCK)"
}

start_vswitchd() {
  local log=/var/log/openvswitch/ovs-vswitchd.log
  if pid_alive "$OVS_RUN/ovs-vswitchd.pid"; then
    say ovs-vswitchd "already running (pid $(cat "$OVS_RUN/ovs-vswitchd.pid"))"
    return
  fi
  # Started directly: `ovs-ctl start` would insist on the openvswitch kernel module. At the
  # niceness ovs-ctl gives it by default (OVS_VSWITCHD_PRIORITY), like ovsdb-server and OVN's daemons.
  nice -n -10 ovs-vswitchd "unix:$OVS_SOCK" --pidfile="$OVS_RUN/ovs-vswitchd.pid" --detach \
    --log-file="$log" -vconsole:off >>"$LOG_DIR/ovs-vswitchd.out" 2>&1 ||
    fail ovs-vswitchd "could not start" "$log"
  wait_until ovs-vswitchd "$log" ovs-appctl -t ovs-vswitchd version
  record ovs-vswitchd "$(cat "$OVS_RUN/ovs-vswitchd.pid")"
  say ovs-vswitchd "started (pid $(cat "$OVS_RUN/ovs-vswitchd.pid"), userspace datapath)"
}

# set_if_absent KEY VALUE: a value an operator already put in external_ids wins.
set_if_absent() {
  if ! ovs_vsctl get Open_vSwitch . "external_ids:$1" >/dev/null 2>&1; then
    ovs_vsctl set Open_vSwitch . "external_ids:$1=\"$2\""
  fi
}

configure_ovs() {
  set_if_absent system-id "$(system_id)"
  set_if_absent ovn-remote "unix:$SB_SOCK"
  set_if_absent ovn-nb "unix:$NB_SOCK"
  set_if_absent ovn-encap-type geneve
  set_if_absent ovn-encap-ip 127.0.0.1
  set_if_absent ovn-bridge-datapath-type netdev
  # Otherwise ovn-controller changes its Southbound monitor condition for every port added or
  # removed here, and the Southbound ovsdb-server scans all Port_Bindings each time: about 50 ms
  # of its CPU per port at 30,000 ports (README, "Measured figures"). One chassis loses nothing.
  set_if_absent ovn-monitor-all true
  say external_ids "system-id=$(ovs_vsctl get Open_vSwitch . external_ids:system-id)\
 ovn-nb=$(ovs_vsctl get Open_vSwitch . external_ids:ovn-nb)"
}

start_ovn_central() {
  local started=() name pidfile
  for name in ovnnb_db ovnsb_db ovn-northd; do
    pid_alive "$OVN_RUN/$name.pid" || started+=("$name")
  done
  if [ "${#started[@]}" -eq 0 ]; then
    say ovn-central "already running (NB, SB, ovn-northd)"
    return
  fi
  # start_northd starts whichever of the NB/SB ovsdb-servers and ovn-northd is missing.
  "$OVN_CTL" start_northd >>"$LOG_DIR/ovn-ctl.log" 2>&1 ||
    fail ovn-central "ovn-ctl start_northd failed" "$LOG_DIR/ovn-ctl.log"
  wait_until ovn-central /var/log/ovn/ovsdb-server-nb.log ovn-nbctl --db="unix:$NB_SOCK" --timeout=2 show
  wait_until ovn-central /var/log/ovn/ovsdb-server-sb.log ovn-sbctl --db="unix:$SB_SOCK" --timeout=2 show
  for name in "${started[@]}"; do
    pidfile=$OVN_RUN/$name.pid
    pid_alive "$pidfile" || fail ovn-central "$name did not start" /var/log/ovn/ovn-northd.log
    record "$name" "$(cat "$pidfile")"
  done
  say ovn-central "started ${started[*]} ($NB_SOCK, $SB_SOCK)"
}

# The row alone can outlive ovs-vswitchd: ovs-ofctl also proves the bridge really exists.
br_int_ready() {
  [ "$(ovs_vsctl get Bridge br-int datapath_type 2>/dev/null)" = netdev ] && ovs-ofctl show br-int
}

# A chassis row can survive from an earlier run: also require a live SB connection.
chassis_registered() {
  local id
  [ "$(ovn-appctl -t ovn-controller connection-status 2>/dev/null)" = connected ] || return 1
  id=$(ovs_vsctl get Open_vSwitch . external_ids:system-id | tr -d '"')
  [ -n "$(ovn-sbctl --db="unix:$SB_SOCK" --timeout=2 --bare --columns=name find Chassis name="$id")" ]
}

start_controller() {
  local log=/var/log/ovn/ovn-controller.log
  if pid_alive "$OVN_RUN/ovn-controller.pid"; then
    say ovn-controller "already running (pid $(cat "$OVN_RUN/ovn-controller.pid"))"
  else
    "$OVN_CTL" start_controller >>"$LOG_DIR/ovn-ctl.log" 2>&1 ||
      fail ovn-controller "ovn-ctl start_controller failed" "$LOG_DIR/ovn-ctl.log"
    pid_alive "$OVN_RUN/ovn-controller.pid" || fail ovn-controller "did not start" "$log"
    record ovn-controller "$(cat "$OVN_RUN/ovn-controller.pid")"
    say ovn-controller "started (pid $(cat "$OVN_RUN/ovn-controller.pid"))"
  fi
  wait_until br-int "$log" br_int_ready
  say br-int "present, datapath_type=netdev"
  wait_until chassis "$log" chassis_registered
  say chassis "registered in the Southbound DB"
}

containerd_up() { [ -S "$CONTAINERD_SOCK" ] && ctr --address "$CONTAINERD_SOCK" --connect-timeout 1s --timeout 5s version; }
docker_up() { "$DOCKER" -H "unix://$DOCKER_SOCK" info; }

# spawn NAME LOG COMMAND...: run a daemon in its own session, detached from this script.
spawn() {
  local name=$1 log=$2
  shift 2
  echo "==== stack.sh start $(date -u +%FT%TZ): $*" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  record "$name" "$!"
}

# wait_spawned NAME LOG COMMAND...: like wait_until, but a daemon that exits fails at once.
wait_spawned() {
  local name=$1 log=$2 deadline
  shift 2
  deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$STATE_DIR/$name.pid"; then
      rm -f "$STATE_DIR/$name.pid"
      fail "$name" "exited during start-up" "$log"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "$name" "not up after ${TIMEOUT}s (waited for: $*)" "$log"
    fi
    sleep 0.1
  done
}

start_containerd() {
  local log=$LOG_DIR/containerd.log
  if containerd_up >/dev/null 2>&1; then
    say containerd "already running ($CONTAINERD_SOCK)"
    return
  fi
  spawn containerd "$log" containerd --address "$CONTAINERD_SOCK"
  wait_spawned containerd "$log" containerd_up
  say containerd "started (pid $(cat "$STATE_DIR/containerd.pid"), log $log)"
}

start_dockerd() {
  local log=$LOG_DIR/dockerd.log
  if docker_up >/dev/null 2>&1; then
    say dockerd "already running ($DOCKER_SOCK)"
    return
  fi
  # A pid file left by a killed dockerd (or one naming a zombie) makes dockerd refuse to start.
  if [ -f /var/run/docker.pid ] && ! pid_alive /var/run/docker.pid; then rm -f /var/run/docker.pid; fi
  spawn_dockerd "$log"
  say dockerd "started (pid $(cat "$STATE_DIR/dockerd.pid"), log $log)"
}

# No default bridge, no iptables and no ip_forward: the tests' only networks are ours.
# vfs works on any filesystem, including overlay-backed roots. --live-restore keeps containers
# running while dockerd restarts (it only conflicts with swarm mode, which we never enable).
spawn_dockerd() {
  spawn dockerd "$1" dockerd --host="unix://$DOCKER_SOCK" --containerd="$CONTAINERD_SOCK" \
    --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false \
    --ip-forward=false --ip-masq=false --live-restore
  wait_spawned dockerd "$1" docker_up
}

# Stops the dockerd that `start` started (TERM by its recorded pid, wait) and starts it again
# the same way; refuses when dockerd was not started by this script.
restart_dockerd() {
  local log=$LOG_DIR/dockerd.log old
  [ "$(id -u)" -eq 0 ] || { echo "stack.sh: must run as root" >&2; exit 1; }
  pid_alive "$STATE_DIR/dockerd.pid" || fail dockerd "not started by stack.sh (no live pid in $STATE_DIR/dockerd.pid): not restarting it"
  old=$(tr -d ' \n' <"$STATE_DIR/dockerd.pid")
  stop_one dockerd
  if kill -0 "$old" 2>/dev/null; then fail dockerd "pid $old still running after stop" "$log"; fi
  if [ -f /var/run/docker.pid ] && ! pid_alive /var/run/docker.pid; then rm -f /var/run/docker.pid; fi
  spawn_dockerd "$log"
  say dockerd "restarted (pid $(cat "$STATE_DIR/dockerd.pid"), was $old, log $log)"
}

# A tiny image from Debian's static busybox: nothing can be pulled here.
build_image() {
  local dir applet
  if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    say image "$IMAGE present"
    return
  fi
  [ -x /bin/busybox ] || fail image "/bin/busybox missing: install busybox-static"
  dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  if ! tar -C "$dir" -c . | "$DOCKER" import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - \
    "$IMAGE" >>"$LOG_DIR/image.log" 2>&1; then
    rm -rf "$dir"
    fail image "docker import failed" "$LOG_DIR/image.log"
  fi
  rm -rf "$dir"
  say image "$IMAGE built from /bin/busybox"
}

start() {
  [ "$(id -u)" -eq 0 ] || { echo "stack.sh: must run as root" >&2; exit 1; }
  mkdir -p "$STATE_DIR" "$LOG_DIR" /run/docker/plugins
  start_ovsdb
  start_vswitchd
  configure_ovs
  start_ovn_central
  start_controller
  start_containerd
  start_dockerd
  build_image
  say plugins-dir "/run/docker/plugins"
}

# stop_one NAME: TERM the recorded pid, wait up to 20 s, then KILL; forget the record.
stop_one() {
  local file=$STATE_DIR/$1.pid pid i
  [ -f "$file" ] || return 0
  pid=$(tr -d ' \n' <"$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      say "$1" "killed (pid $pid did not exit on TERM)"
    else
      say "$1" "stopped (pid $pid)"
    fi
  else
    say "$1" "was not running"
  fi
  rm -f "$file"
}

stop() {
  local name
  # Reverse start order: Docker before containerd, ovn-controller before its databases.
  for name in dockerd containerd ovn-controller ovn-northd ovnsb_db ovnnb_db ovs-vswitchd ovsdb-server; do
    stop_one "$name"
  done
}

status_line() {
  local name=$1 state=$2 who=""
  [ -f "$STATE_DIR/$name.pid" ] && who=" (started by stack.sh)"
  say "$name" "$state$who"
}

status() {
  local name rc=0
  for name in ovsdb-server ovs-vswitchd; do
    if pid_alive "$OVS_RUN/$name.pid"; then status_line "$name" running; else status_line "$name" stopped; rc=1; fi
  done
  for name in ovnnb_db ovnsb_db ovn-northd ovn-controller; do
    if pid_alive "$OVN_RUN/$name.pid"; then status_line "$name" running; else status_line "$name" stopped; rc=1; fi
  done
  if containerd_up >/dev/null 2>&1; then status_line containerd running; else status_line containerd stopped; rc=1; fi
  if docker_up >/dev/null 2>&1; then
    status_line dockerd running
    if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then say image "$IMAGE present"; else say image "$IMAGE absent"; rc=1; fi
  else
    status_line dockerd stopped
    rc=1
  fi
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart-dockerd) restart_dockerd ;;
  *) echo "usage: $0 start|stop|status|restart-dockerd" >&2; exit 2 ;;
esac
