#!/usr/bin/env bash
# Runs every test: unit tests of each module and the integration tests in it/, which start real
# nodes, real instance processes and real CRIU (as root), and the cluster module's tests, which
# start real etcd processes. Usage: scripts/test.sh [extra mvn args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/java-env.sh"
echo "test: JDK $(thaw_java_version "$JAVA_HOME") at $JAVA_HOME" >&2
if ! "$ROOT/scripts/install-criu.sh" >/dev/null; then
  if [ "${CI:-}" = "true" ]; then
    echo "test: CRIU is required in CI and could not be installed" >&2
    exit 1
  fi
  echo "test: CRIU unavailable: snapshot tests will be skipped" >&2
fi
if ! "$ROOT/scripts/install-etcd.sh" >/dev/null; then
  if [ "${CI:-}" = "true" ]; then
    echo "test: etcd is required in CI (the cluster module's tests start etcd processes) and could not be installed" >&2
    exit 1
  fi
  echo "test: etcd unavailable: the cluster module's tests will fail (run scripts/install-etcd.sh)" >&2
fi
cd "$ROOT"
exec mvn -B -ntp verify "$@"
