# gateway: common tasks.  `make run` and `make test` work on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
CONFIG ?= etc/gateway.toml
TRIAL_ARGS ?= tests
# Debian's own interpreter and packages, for the compatibility run.
DEBIAN_PYTHON ?= /usr/bin/python3
DEBIAN_PACKAGES = python3-twisted python3-openssl python3-service-identity \
	python3-zope.interface python3-cryptography python3-argon2 python3-hypothesis \
	python3-pexpect python3-autobahn python3-bcrypt python3-pyasn1 python3-paramiko \
	python3-prometheus-client

.PHONY: run test check test-debian bench venv clean

# The fast unit tests alone (tests/test_*.py, not tests/integration/).
UNIT_TESTS = $(patsubst %.py,%,$(subst /,.,$(wildcard tests/test_*.py)))

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

# The example game plugin is installed too: the integration tests use it
# as an installed plugin (the Debian run puts a copy on PYTHONPATH).
venv: $(VENV)/bin/python
	$(VENV)/bin/pip install -q ".[test]" ./examples/dice

# Install the package into the virtualenv and run the daemon in the
# foreground on the embedded defaults (loopback ports, data in ./var).
run: venv
	$(VENV)/bin/twistd --nodaemon --pidfile= gateway --config $(CONFIG)

# The whole test suite against the newest releases from PyPI.
test: venv
	PYTHONPATH=. $(VENV)/bin/python -m twisted.trial $(TRIAL_ARGS)

# The fast unit tests only (seconds): what to run while editing.
check: venv
	PYTHONPATH=. $(VENV)/bin/python -m twisted.trial $(UNIT_TESTS)

# The same suite on Debian 12's own packages (what the .deb depends on).
test-debian:
	@if [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEBIAN_PACKAGES) >/dev/null; \
	fi
	PYTHONPATH=. $(DEBIAN_PYTHON) -m twisted.trial $(TRIAL_ARGS)

# Benchmarks against a bare Twisted server; writes docs/benchmarks.md and
# docs/benchmarks.png (about ten minutes; see docs/benchmarks.md).
bench: venv
	$(VENV)/bin/pip install -q -r bench/requirements.txt
	$(VENV)/bin/python bench/run

clean:
	rm -rf $(VENV) build dist *.egg-info _trial_temp* .hypothesis
