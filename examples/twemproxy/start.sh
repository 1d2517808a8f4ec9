#!/usr/bin/env bash
# Starts N bitcask-server nodes (ports 6380...) and twemproxy in front of them, all on
# loopback, and waits; Ctrl-C stops everything (each node closes its store cleanly).
#
#   examples/twemproxy/start.sh [N] [DATA_DIR]
#   redis-cli -p 22121 set hello world       # through the proxy
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
n="${1:-3}"
data="${2:-$root/target/twemproxy-data}"
command -v nutcracker >/dev/null || { echo "nutcracker is not installed: apt-get install nutcracker" >&2; exit 1; }
cargo build --release -q -p bitcask-server --manifest-path "$root/Cargo.toml"
server="$root/target/release/bitcask-server"
conf="$(mktemp --suffix=.yml)"
sed -n '1,/servers:/p' "$here/nutcracker.yml" > "$conf"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait; rm -f "$conf"; }
trap cleanup EXIT INT TERM
for i in $(seq 1 "$n"); do
  port=$((6379 + i))
  mkdir -p "$data/node$i"
  "$server" --dir "$data/node$i" --port "$port" --sync every=1000 &
  pids+=($!)
  echo "    - 127.0.0.1:$port:1 node$i" >> "$conf"
done
sleep 0.5
nutcracker -c "$conf" -s 22222 &
pids+=($!)
echo "twemproxy on 127.0.0.1:22121 in front of $n nodes (data in $data); Ctrl-C stops"
wait
