# Sourced by thaw's scripts: selects a JDK >= 25 (the project's target) and exports JAVA_HOME/PATH.
# The machine's default java may be older; a JAVA_HOME that already points at 25+ is kept.
# A JDK's feature version: from its release file (no JVM started: every ./thaw command pays this),
# else from `java -version`.
thaw_java_version() {
  local v=""
  [ -f "$1/release" ] && v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" | head -1)"
  [ -n "$v" ] || v="$("$1/bin/java" -XX:+IgnoreUnrecognizedVMOptions -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  echo "$v"
}
thaw_select_jdk() {
  local candidate v
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    v="$(thaw_java_version "$candidate")"
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "thaw: no JDK 25 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm). Install Temurin 25 or set JAVA_HOME." >&2
  return 1
}
thaw_select_jdk

# Where ./thaw runs the CLI's JAR from (the node above all), and how. scripts/node-aot-cache.sh trains
# with the same JAR and options: an AOT cache serves only the JAR and options it was made with.
THAW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THAW_LIB="$THAW_ROOT/.thaw/lib"
THAW_CLI_JAR="$THAW_LIB/thaw-cli.jar"
THAW_RUNTIME_JAR="$THAW_LIB/thaw-runtime.jar"
THAW_AOT_CACHE="$THAW_LIB/thaw-cli.aot"
THAW_CLIENT_AOT_CACHE="$THAW_LIB/thaw-client.aot"
THAW_CRIU="$THAW_ROOT/.thaw/criu/bin/criu"
THAW_CLI_JAVA_OPTIONS=(--enable-native-access=ALL-UNNAMED -Dthaw.runtime.jar="$THAW_RUNTIME_JAR" -Dthaw.criu="$THAW_CRIU")
