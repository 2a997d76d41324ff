"""
Start the real daemon (C{twistd gateway ARGS}) for a benchmark, with the
file-descriptor limit raised to its hard limit.

C{--cheap-hash} swaps the Argon2 parameters for the cheapest the library
allows, so that scenarios measuring sessions (not password hashing) can log
thousands of accounts in quickly.  It is for benchmarks only; the login
storm scenario runs without it, on the real parameters.

C{--no-metrics} makes every counting method of L{gateway.metrics.Metrics}
do nothing, so the metrics scenario can compare the daemon with and
without the cost of its metrics.

Run: C{python bench/gatewayd.py [--cheap-hash] [--no-metrics] -- TWISTD-ARGS...}
"""

import resource
import sys
import types

import argon2

#: The cheapest Argon2id parameters: 1 pass over 8 KiB, one lane.
CHEAP_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


def cheap_hasher():
    """
    An L{argon2.PasswordHasher} with L{CHEAP_HASH} parameters.
    """
    return argon2.PasswordHasher(**CHEAP_HASH)


#: The methods of L{gateway.metrics.Metrics} that read figures rather than
#: count them; C{--no-metrics} leaves them.
_READERS = {"sessions", "players_online", "uptime"}


def without_metrics():
    """
    Make L{gateway.metrics.Metrics} count nothing: its wrappers call what
    they wrap, its other counting methods return at once.
    """
    from gateway.metrics import Metrics

    def nothing(self, *args):
        return None

    for name, value in list(vars(Metrics).items()):
        if callable(value) and not name.startswith("_") and name not in _READERS:
            setattr(Metrics, name, nothing)
    Metrics.timed_command = lambda self, run, *args: run(*args)
    Metrics.timed_hashing = lambda self, run: run


def main(argv):
    options = argv[: argv.index("--")]
    cheap = "--cheap-hash" in options
    if "--no-metrics" in options:
        without_metrics()
    twistd_args = argv[argv.index("--") + 1:]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if cheap:
        from gateway.auth import hashing

        hashing.argon2 = types.SimpleNamespace(PasswordHasher=cheap_hasher)
    from twisted.scripts.twistd import run

    sys.argv = ["twistd"] + twistd_args
    run()


if __name__ == "__main__":
    main(sys.argv[1:])
