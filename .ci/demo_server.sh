# Sourced by .ci/contract and .ci/clients: builds the server and starts `serve --demo` on a free
# port in a scratch directory, stopped (and the directory removed) when the sourcing script exits.
# Sets WORK, BASE, TOKEN and SERVER.
cargo build --quiet
WORK=$(mktemp -d /tmp/crm-ci.XXXXXX)
chmod 755 "$WORK"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
CRM_DATA_DIR=$WORK/data CRM_BIND=127.0.0.1:$PORT RUST_LOG=warn target/debug/crm-api serve --demo >"$WORK/demo.txt" 2>"$WORK/server.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/readyz" >/dev/null || { cat "$WORK/server.log" >&2; echo "serve --demo did not become ready" >&2; exit 1; }
TOKEN=$(sed -n 2p "$WORK/demo.txt")
