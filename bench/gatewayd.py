"""
Start the real daemon (C{twistd gateway ARGS}) for a benchmark, with the
file-descriptor limit raised to its hard limit.

C{--cheap-hash} swaps the Argon2 parameters for the cheapest the library
allows, so that scenarios measuring sessions (not password hashing) can log
thousands of accounts in quickly.  It is for benchmarks only; the login
storm scenario runs without it, on the real parameters.

Run: C{python bench/gatewayd.py [--cheap-hash] -- TWISTD-ARGS...}
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


def main(argv):
    cheap = "--cheap-hash" in argv[: argv.index("--")]
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
