# Sourced: a throwaway local PostgreSQL server for tests and tools/run-cluster (Debian's postgresql 15).
# PostgreSQL refuses to run as root, so initdb and the server run as the `postgres` system user, with the
# data folder and the Unix socket folder owned by it. Trust authentication: the socket folder and the
# addresses listened on belong to this machine's test or cluster only.
#
#   pg_local_start DIR [PORT] [LISTEN] [NETNS]   initdb into DIR/data (once), start; prints the connection URL
#   pg_local_stop DIR                            fast shutdown; nothing when it is not running
#
# LISTEN is '' (Unix socket only, the default) or an address such as 10.77.0.1; NETNS runs the server
# inside that network namespace (`ip netns exec`). PORT defaults to a free one.

pg_local_bin() {
  local v
  for v in 17 16 15 14 13; do
    [ -x "/usr/lib/postgresql/$v/bin/postgres" ] && { echo "/usr/lib/postgresql/$v/bin"; return 0; }
  done
  echo "postgres: no /usr/lib/postgresql/*/bin/postgres; install Debian's postgresql (tools/setup)" >&2
  return 1
}

pg_local_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a command as the postgres user (or as ourselves when we are not root: then we own the folders).
pg_local_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_local_close_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

pg_local_start() {
  local dir="$1" port="${2:-}" listen="${3:-}" netns="${4:-}" bin
  bin="$(pg_local_bin)" || return 1
  [ -n "$port" ] || port="$(pg_local_free_port)"
  mkdir -p "$dir/socket"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir" "$dir/socket" && chmod 700 "$dir/socket"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    [ "$(id -u)" -eq 0 ] && { mkdir -p "$dir/data"; chown postgres: "$dir/data"; }
    pg_local_as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; return 1; }
    {
      echo "listen_addresses = '$listen'"
      echo "unix_socket_directories = '$dir/socket'"
      echo "port = $port"
      # Durability is the point of the store: a commit is on disk before the engine replies.
      echo "synchronous_commit = on"
      echo "fsync = on"
      echo "max_connections = 100"
      echo "logging_collector = off"
    } >>"$dir/data/postgresql.conf"
    [ -n "$listen" ] && echo "host all all 0.0.0.0/0 trust" >>"$dir/data/pg_hba.conf"
  fi
  port="$(sed -n "s/^port = \([0-9]*\)$/\1/p" "$dir/data/postgresql.conf" | tail -1)"
  if ! pg_local_as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    local run=("$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start)
    # Spelled out rather than pg_local_as: `ip netns exec` runs programs, not shell functions.
    if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres -- "${run[@]}"); fi
    if [ -n "$netns" ]; then run=(ip netns exec "$netns" "${run[@]}"); fi
    # The server outlives us and inherits our descriptors: none of our caller's may stay open in it
    # (Foundation's Process, for one, waits for its child by a socket that must close).
    ( pg_local_close_inherited_fds; "${run[@]}" ) >>"$dir/pg_ctl.log" 2>&1 </dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
  fi
  if [ -n "$listen" ]; then
    echo "postgres://postgres@$listen:$port/postgres"
  else
    echo "postgres://postgres@/postgres?host=$dir/socket&port=$port"
  fi
}

pg_local_stop() {
  local dir="$1" bin
  bin="$(pg_local_bin)" || return 1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pg_local_as "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}
