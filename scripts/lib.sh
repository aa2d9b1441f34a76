# Shared by scripts/up, scripts/test and .ci/run: bring up what the gateway needs.
# Sourced, not run. Each ensure_* starts an installed-but-stopped service, installs a
# missing one when we are root (Debian/Ubuntu), and otherwise says exactly what to do.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

port_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_port() { # host port seconds what
  local i
  for ((i = 0; i < $3 * 2; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.5
  done
  return 1
}

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  is_root || return 1
  command -v apt-get >/dev/null || return 1
  say "installing $* (apt-get)"
  if [ -z "${_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

amqp_answers() { # the broker speaks AMQP, not only accepts TCP (a wedged node does the latter)
  [ -x "$VENV/bin/python" ] || return 0
  timeout 30 "$VENV/bin/python" -c "import asyncio, aio_pika
async def m():
    c = await aio_pika.connect('amqp://guest:guest@127.0.0.1:5672/', timeout=20)
    await c.close()
asyncio.run(m())" >/dev/null 2>&1
}

ensure_rabbitmq() {
  if port_open 127.0.0.1 5672; then
    local try
    # A node recovering many quorum queues accepts TCP long before it answers: wait.
    for try in 1 2 3 4 5 6 7 8 9 10; do amqp_answers && return 0; done
    is_root || die "RabbitMQ on 127.0.0.1:5672 accepts connections but does not answer AMQP; restart it (sudo rabbitmqctl stop; sudo rabbitmq-server -detached)"
    say "RabbitMQ does not answer AMQP: restarting it"
    timeout 30 rabbitmqctl stop >/dev/null 2>&1 || pkill -9 -u rabbitmq beam.smp || true
    sleep 3
  fi
  if ! command -v rabbitmq-server >/dev/null; then
    apt_install rabbitmq-server || die "RabbitMQ is not running on 127.0.0.1:5672 and is not installed.
  Install it (Debian/Ubuntu: sudo apt-get install rabbitmq-server), start it (sudo rabbitmq-server -detached),
  or point GATEWAY_AMQP_URL at a running broker, then run this again."
  fi
  say "starting RabbitMQ"
  if is_root; then rabbitmq-server -detached >/dev/null 2>&1 || true
  else sudo -n rabbitmq-server -detached >/dev/null 2>&1 || die "RabbitMQ is installed but stopped, and starting it needs root: run 'sudo rabbitmq-server -detached', then run this again."
  fi
  wait_port 127.0.0.1 5672 90 || die "RabbitMQ did not open 127.0.0.1:5672 within 90 s; see /var/log/rabbitmq/"
  local try
  for try in 1 2 3 4 5 6 7 8 9 10; do amqp_answers && return 0; done
  die "RabbitMQ opened 127.0.0.1:5672 but does not answer AMQP after five minutes; see /var/log/rabbitmq/"
}

pg_cluster_start() {
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] || return 1
  if is_root; then pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  else sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || return 1
  fi
}

ensure_postgres() {
  if ! port_open 127.0.0.1 5432; then
    if ! command -v pg_ctlcluster >/dev/null; then
      apt_install postgresql || die "PostgreSQL is not running on 127.0.0.1:5432 and is not installed.
  The test suite runs against PostgreSQL as well as SQLite. Install it (sudo apt-get install postgresql),
  start it, or set GATEWAY_TEST_PG_URL=postgresql://USER:PASSWORD@HOST:PORT/DB, then run this again."
    fi
    say "starting PostgreSQL"
    pg_cluster_start || die "PostgreSQL is installed but stopped, and starting it needs root: run
  'sudo pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start', then run this again."
    wait_port 127.0.0.1 5432 60 || die "PostgreSQL did not open 127.0.0.1:5432 within 60 s"
  fi
  [ -n "${GATEWAY_TEST_PG_URL:-}" ] && return 0
  # The suite creates its own database through this URL; without trust auth on a fresh
  # install, give the postgres role a password (we are root and installed it ourselves).
  if ! "$VENV/bin/python" -c "import asyncio, asyncpg; asyncio.run(asyncpg.connect('postgresql://postgres@127.0.0.1:5432/postgres'))" 2>/dev/null; then
    if is_root && command -v runuser >/dev/null; then
      runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
      export GATEWAY_TEST_PG_URL="postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    else
      die "cannot connect to PostgreSQL as postgres without a password; set GATEWAY_TEST_PG_URL=postgresql://USER:PASSWORD@127.0.0.1:5432/postgres (a role that may CREATE DATABASE)"
    fi
  fi
}

ensure_chromium() {
  # The browser tests drive the distribution's Chromium through Playwright; Playwright's
  # own browser download (`playwright install`) is never used.
  local chromium="${GATEWAY_TEST_CHROMIUM:-/usr/bin/chromium}"
  [ -x "$chromium" ] && return 0
  command -v chromium >/dev/null && return 0
  apt_install chromium || die "Chromium is not installed; the browser tests (tests/browser) need it.
  Install it (Debian/Ubuntu: sudo apt-get install chromium), or set GATEWAY_TEST_CHROMIUM=/path/to/chromium,
  then run this again."
}

ensure_venv() {
  command -v python3 >/dev/null || die "python3 (3.11 or newer) is needed"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 is $(python3 -V); 3.11 or newer is needed"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; } || die "python3 -m venv failed: install python3-venv"
  fi
  local stamp="$VENV/.installed" want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing the gateway and its dependencies into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[dev]"
    echo "$want" >"$stamp"
  fi
}
