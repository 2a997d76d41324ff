"""
SSH login load: P worker processes, each running C asyncssh clients one
login after another for a fixed time.  A login is a full connection: key
exchange, password authentication, one C{exec} of a command (C{who} by
default) read to its exit status, and the close.  Needs asyncssh
(C{pip install asyncssh}; see bench/requirements.txt).

Run: C{python bench/sshlogins.py --port N --account NAME ... --password P};
prints one JSON object: logins, logins_per_s, errors, client_cpu_s.
"""

import argparse
import asyncio
import itertools
import json
import sys
import time

from procpool import run_workers


async def _client(port, names, password, command, end, counts):
    import asyncssh

    while time.monotonic() < end:
        try:
            async with asyncssh.connect(
                "127.0.0.1", port, username=next(names), password=password,
                known_hosts=None, client_keys=None, preferred_auth="password",
            ) as connection:
                result = await asyncio.wait_for(connection.run(command), 30)
            if result.exit_status == 0:
                counts[0] += 1
            else:
                counts[1] += 1
        except (OSError, asyncio.TimeoutError, Exception) as e:  # any failure counts as an error
            counts[1] += 1
            counts[2] = repr(e)


def _worker(port, names, password, command, clients, duration, queue):
    counts = [0, 0, None]
    end = time.monotonic() + duration
    cycle = itertools.cycle(names)

    async def run():
        await asyncio.gather(*(_client(port, cycle, password, command, end, counts) for _ in range(clients)))

    asyncio.run(run())
    queue.put(counts)


def main(argv=None):
    p = argparse.ArgumentParser(description="SSH login load generator")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--account", action="append", required=True, help="account names (one per worker at least)")
    p.add_argument("--password", required=True)
    p.add_argument("--command", default="who")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clients", type=int, default=4, help="concurrent logins per worker")
    p.add_argument("--duration", type=float, default=10)
    args = p.parse_args(argv)
    per = max(1, len(args.account) // args.workers)
    results, elapsed, client_cpu = run_workers(
        _worker,
        [
            (args.port, args.account[i * per:(i + 1) * per] or args.account, args.password, args.command,
             args.clients, args.duration)
            for i in range(args.workers)
        ],
        args.duration + 90,
    )
    done = sum(r[0] for r in results)
    print(json.dumps({
        "logins": done,
        "logins_per_s": done / elapsed,
        "errors": sum(r[1] for r in results),
        "last_error": next((r[2] for r in results if r[2]), None),
        "client_cpu_s": client_cpu,
        "seconds": elapsed,
    }))


if __name__ == "__main__":
    sys.exit(main())
