# Sourced by the scripts that talk to a node over HTTP without the CLI: one request over bash's own
# /dev/tcp, so that they need no curl (a minimal Debian has none, and the project installs only what
# it must) and start no JVM per request, as a `./thaw` command would.

# thaw_http METHOD PORT PATH [TOKEN] [BODY] [HEADER]: one request to 127.0.0.1:PORT, with the API
# token as a bearer token if one is given and one more header line ("Name: value") if given. Prints
# the answer's body; succeeds when the status is 2xx. Waits at most 10 s for each part of the answer.
# The body is read by its Content-Length (the node keeps the connection open until the client
# closes it, even after "Connection: close"), else to the end of the connection.
thaw_http() (
  method="$1" port="$2" path="$3" token="${4:-}" body="${5:-}" header="${6:-}"
  exec 2>/dev/null # a refused connection is a failure to report by status, not a message
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  {
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\nContent-Length: %d\r\n' \
      "$method" "$path" "$port" "$(LC_ALL=C; echo "${#body}")"
    if [ -n "$token" ]; then printf 'Authorization: Bearer %s\r\n' "$token"; fi
    if [ -n "$header" ]; then printf '%s\r\n' "$header"; fi
    printf '\r\n%s' "$body"
  } >&3
  IFS= read -r -t 10 status <&3 || exit 1 # "HTTP/1.1 200 OK"
  length=""
  while IFS= read -r -t 10 line <&3; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    case "${line,,}" in content-length:*) length="${line#*:}"; length="${length//[[:space:]]/}" ;; esac
  done
  if [ -n "$length" ]; then
    [ "$length" -eq 0 ] || timeout 10 head -c "$length" <&3
  else
    timeout 10 cat <&3
  fi
  status="${status#* }"
  [[ "${status%% *}" == 2[0-9][0-9] ]]
)
