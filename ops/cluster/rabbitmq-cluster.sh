#!/usr/bin/env bash
# A local RabbitMQ cluster of 3 nodes beside the machine's own node, for the cluster test and for
# trying fail-over by hand. Its nodes have their own names, ports, data, logs, config, plugins and
# Erlang cookie, so the machine's node (rabbit@localhost: 5672, 25672, 15672) is never touched; only
# epmd (4369) is shared. Needs root (it runs the nodes as the rabbitmq user) or the rabbitmq user.
#
#   ops/cluster/rabbitmq-cluster.sh start        start the nodes and cluster them (~20-30 s)
#   ops/cluster/rabbitmq-cluster.sh stop         stop every node and delete the cluster's directory
#   ops/cluster/rabbitmq-cluster.sh status       cluster_status, as node 1 sees it
#   ops/cluster/rabbitmq-cluster.sh urls         AMQP_URL for the cluster: every node, comma-separated
#   ops/cluster/rabbitmq-cluster.sh api N        the HTTP API of node N (management plugin)
#   ops/cluster/rabbitmq-cluster.sh vhost NAME   a vhost with guest's rights and the leader-spreading policy
#   ops/cluster/rabbitmq-cluster.sh ctl N ARGS   rabbitmqctl against node N (e.g. ctl 1 list_queues -p v name leader)
#   ops/cluster/rabbitmq-cluster.sh queues N ARGS   rabbitmq-queues against node N
#   ops/cluster/rabbitmq-cluster.sh pid N        the OS pid of node N (for kill -9)
#   ops/cluster/rabbitmq-cluster.sh start-node N start node N again (after it was killed); it rejoins
#
# Environment (defaults in brackets): BFC_DIR [/tmp/billing-fleet-cluster], BFC_NODES [3],
# BFC_NAME [bfc] (nodes bfc1@localhost…), BFC_AMQP_PORT [5681] (node i listens on 5681+i-1),
# BFC_DIST_PORT [25681], BFC_MANAGEMENT_PORT [15681] (HTTP API, guest/guest), BFC_CTL_PORT [35691]
# (first of the CLI's own distribution ports).
set -euo pipefail

dir="${BFC_DIR:-/tmp/billing-fleet-cluster}"
count="${BFC_NODES:-3}"
name="${BFC_NAME:-bfc}"
amqp_port="${BFC_AMQP_PORT:-5681}"
dist_port="${BFC_DIST_PORT:-25681}"
mgmt_port="${BFC_MANAGEMENT_PORT:-15681}"
ctl_port="${BFC_CTL_PORT:-35691}"
host="localhost"

# The Debian/Ubuntu package wraps every tool in a script that switches to the rabbitmq user and
# resets HOME; the real scripts are behind it. A generic install has them on PATH.
sbin="/usr/lib/rabbitmq/bin"
[ -x "$sbin/rabbitmq-server" ] || sbin="$(dirname "$(command -v rabbitmq-server)")"

die() { echo "rabbitmq-cluster: $*" >&2; exit 1; }
node() { echo "${name}$1@${host}"; }
node_dir() { echo "$dir/node$1"; }

# Runs a command as the rabbitmq user with the cluster's own HOME (hence its own Erlang cookie).
as_rabbitmq() {
  local env=(HOME="$dir/home" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" PATH="$PATH"
    RABBITMQ_CTL_DIST_PORT_MIN="$ctl_port" RABBITMQ_CTL_DIST_PORT_MAX="$((ctl_port + 19))")
  if [ "$(id -u)" = 0 ]; then
    runuser -u rabbitmq -- env -i "${env[@]}" "$@"
  elif [ "$(id -un)" = rabbitmq ]; then
    env -i "${env[@]}" "$@"
  else
    die "run me as root or as the rabbitmq user"
  fi
}

ctl() { local i="$1"; shift; as_rabbitmq "$sbin/rabbitmqctl" -n "$(node "$i")" "$@"; }
queues() { local i="$1"; shift; as_rabbitmq "$sbin/rabbitmq-queues" -n "$(node "$i")" "$@"; }
running() { ctl "$1" -q ping >/dev/null 2>&1; }

pid_of() {
  local file
  file="$(node_dir "$1")/rabbit.pid"
  [ -s "$file" ] || return 1
  cat "$file"
}

prepare() {
  mkdir -p "$dir/home"
  if [ ! -s "$dir/home/.erlang.cookie" ]; then
    # its own cookie: the cluster can never talk to (or join) the machine's node by mistake
    head -c 200 /dev/urandom | tr -dc 'A-Z' | head -c 32 >"$dir/home/.erlang.cookie"
    chmod 400 "$dir/home/.erlang.cookie"
  fi
  # an empty environment file in place of /etc/rabbitmq/rabbitmq-env.conf (which names the machine's node)
  : >"$dir/rabbitmq-env.conf"
  for i in $(seq 1 "$count"); do
    local d port
    d="$(node_dir "$i")"
    port=$((amqp_port + i - 1))
    mkdir -p "$d/mnesia" "$d/log"
    cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$port
# the HTTP API answers in milliseconds where each rabbitmqctl call boots a VM for seconds
management.tcp.ip = 127.0.0.1
management.tcp.port = $((mgmt_port + i - 1))
# a minority side pauses instead of diverging: what quorum queues expect of a 3-node cluster
cluster_partition_handling = pause_minority
vm_memory_high_watermark.relative = 0.2
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = info
CONF
    echo "[rabbitmq_management]." >"$d/enabled_plugins"
  done
  chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null || [ "$(id -un)" = rabbitmq ]
}

start_node() {
  local i="$1" d
  d="$(node_dir "$i")"
  if running "$i"; then return 0; fi
  # setsid: the node outlives this script, in its own session
  as_rabbitmq env \
    RABBITMQ_NODENAME="$(node "$i")" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$((amqp_port + i - 1))" \
    RABBITMQ_DIST_PORT="$((dist_port + i - 1))" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" \
    RABBITMQ_LOG_BASE="$d/log" \
    RABBITMQ_PID_FILE="$d/rabbit.pid" \
    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    setsid "$sbin/rabbitmq-server" >"$d/log/startup.log" 2>&1 </dev/null &
}

# await_startup fails at once while the node's VM is not yet reachable, so it is tried again until
# the node is up or three minutes have passed.
await_node() {
  local deadline=$((SECONDS + 180))
  until ctl "$1" --timeout 120 await_startup >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "node $(node "$1") did not start; see $(node_dir "$1")/log/"
    sleep 1
  done
}

# Every node of the cluster is running and clustered with node 1: through node 1's HTTP API when
# it answers (milliseconds), else one CLI call (seconds).
all_clustered() {
  local status
  if status="$(curl -fsS -u guest:guest "http://127.0.0.1:$mgmt_port/api/nodes?columns=name,running" 2>/dev/null)"; then
    status="$(echo "$status" | tr -d ' \n')"
    for i in $(seq 1 "$count"); do
      echo "$status" | grep -q "\"name\":\"$(node "$i")\",\"running\":true" || return 1
    done
    return 0
  fi
  status="$(ctl 1 -q cluster_status --formatter json 2>/dev/null | tr -d ' \n')" || return 1
  for i in $(seq 1 "$count"); do
    echo "$status" | grep -q "running_nodes\":\[[^]]*\"$(node "$i")\"" || return 1
  done
}

# Runs "$@" once per node number given before "--", in parallel; fails if any failed.
each() {
  local nodes=() pids=() failed=0
  while [ "$1" != "--" ]; do nodes+=("$1"); shift; done
  shift
  for i in "${nodes[@]}"; do "$@" "$i" & pids+=("$!"); done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

# Node 1 only has to be up; a joiner stops its app as soon as it is up, ready to join.
await_boot() {
  await_node "$1"
  [ "$1" = 1 ] || ctl "$1" -q stop_app >/dev/null
}
start_app() { ctl "$1" -q start_app >/dev/null; }

# Stops the node's Erlang VM; its pid (from its own pid file, never a name match) if it lingers.
stop_node() {
  local pid
  if running "$1"; then ctl "$1" -q shutdown >/dev/null 2>&1 || true; fi
  if pid="$(pid_of "$1" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

urls() {
  local list=""
  for i in $(seq 1 "$count"); do
    list="${list:+$list,}amqp://guest:guest@127.0.0.1:$((amqp_port + i - 1))"
  done
  echo "$list"
}

case "${1:-}" in
  start)
    if [ -d "$dir/node1/mnesia" ]; then
      # a cluster made before: start what is down (a member rejoins by itself on boot)
      if all_clustered; then
        echo "cluster of $count nodes already running; AMQP_URL=$(urls)"
        exit 0
      fi
      for i in $(seq 1 "$count"); do start_node "$i"; done
      each $(seq 1 "$count") -- await_node
    else
      prepare
      for i in $(seq 1 "$count"); do start_node "$i"; done
      # The nodes boot together; each joiner stops its app as soon as it is up, then joins node 1
      # (one at a time: joins change the cluster's schema) and starts again. Each CLI call costs
      # seconds on a busy machine, so whatever can run in parallel does.
      joiners=$(seq 2 "$count")
      each $(seq 1 "$count") -- await_boot
      for i in $joiners; do ctl "$i" -q join_cluster "$(node 1)" >/dev/null; done
      [ -z "$joiners" ] || each $joiners -- start_app
    fi
    all_clustered || die "the nodes did not form one cluster; see $dir/node*/log/"
    echo "cluster of $count nodes running; AMQP_URL=$(urls) (append /<vhost> to each node)"
    ;;
  vhost)
    # A vhost for the fleet: guest's permissions, and queue leaders spread over the nodes. The
    # policy places each quorum queue's leader on the node with the fewest leaders when the queue
    # is declared, with no queue argument (changing billing_queue's arguments would make every
    # existing deployment's declare fail with PRECONDITION_FAILED).
    [ -n "${2:-}" ] || die "vhost needs a name"
    ctl 1 -q add_vhost "$2" >/dev/null
    ctl 1 -q set_permissions -p "$2" guest '.*' '.*' '.*' >/dev/null
    ctl 1 -q set_policy -p "$2" --apply-to queues billing-leaders '^billing' \
      '{"queue-leader-locator":"balanced"}' >/dev/null
    echo "vhost $2 ready"
    ;;
  start-node)
    [ -n "${2:-}" ] || die "start-node needs a node number"
    start_node "$2"
    await_node "$2"
    ;;
  stop)
    [ -d "$dir" ] || { echo "no cluster at $dir"; exit 0; }
    each $(seq 1 "$count") -- stop_node
    rm -rf "$dir"
    echo "cluster stopped; $dir removed"
    ;;
  status) ctl 1 cluster_status ;;
  urls) urls ;;
  api) [ -n "${2:-}" ] || die "api needs a node number"; echo "http://127.0.0.1:$((mgmt_port + $2 - 1))/api" ;;
  ctl) shift; [ $# -ge 1 ] || die "ctl needs a node number"; ctl "$@" ;;
  queues) shift; [ $# -ge 1 ] || die "queues needs a node number"; queues "$@" ;;
  pid) [ -n "${2:-}" ] || die "pid needs a node number"; pid_of "$2" || die "node $2 has no pid file" ;;
  *) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
