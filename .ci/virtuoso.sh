# Sourced by .ci/run: starts a throwaway Virtuoso (Debian's virtuoso-opensource) on loopback for
# the remote-store tests and exports DLP_TEST_SPARQL, its SPARQL endpoint; stops it on exit.
# Best effort: if it cannot be installed or started, those tests print that they skipped.
start_virtuoso() {
  if ! command -v virtuoso-t >/dev/null 2>&1; then
    local SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null 2>&1 \
      || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null 2>&1; } \
      || return 1
  fi
  local ini=/etc/virtuoso-opensource-7/virtuoso.ini
  [ -f "$ini" ] || return 1
  VIRTUOSO_DIR=$(mktemp -d)
  VIRTUOSO_SQL_PORT=${VIRTUOSO_SQL_PORT:-21111}
  local http_port=${VIRTUOSO_HTTP_PORT:-28890}
  sed -e "s|/var/lib/virtuoso-opensource-7/db|$VIRTUOSO_DIR|g" \
      -e "s|^\(ServerPort *= *\)1111|\1$VIRTUOSO_SQL_PORT|" \
      -e "s|^\(ServerPort *= *\)8890|\1$http_port|" "$ini" > "$VIRTUOSO_DIR/virtuoso.ini"
  (cd "$VIRTUOSO_DIR" && timeout 120 virtuoso-t +configfile "$VIRTUOSO_DIR/virtuoso.ini" +wait) >/dev/null 2>&1 || return 1
  trap stop_virtuoso EXIT
  # A fresh database has the user dba/dba; let the SPARQL endpoint accept updates.
  isql-vt "$VIRTUOSO_SQL_PORT" dba dba exec='grant SPARQL_UPDATE to "SPARQL";' >/dev/null 2>&1 || return 1
  export DLP_TEST_SPARQL="http://127.0.0.1:$http_port/sparql"
}

stop_virtuoso() {
  isql-vt "$VIRTUOSO_SQL_PORT" dba dba exec='shutdown;' >/dev/null 2>&1 || true
  rm -rf "$VIRTUOSO_DIR"
}

if start_virtuoso; then
  echo "Virtuoso for the remote-store tests: $DLP_TEST_SPARQL"
else
  echo "no Virtuoso (could not install or start it): the Virtuoso remote-store test will say it skipped"
fi
