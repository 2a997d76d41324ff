"""
Running a load client's worker processes and collecting what they report,
for the scripts in bench/ that need more than one process to load the
server (L{handshakes}, L{sshlogins}).
"""

import multiprocessing
import resource
import time


def run_workers(target, arguments, timeout):
    """
    Start one process per entry of C{arguments}, calling
    C{target(*entry, queue)}; each puts one result on the queue.

    @param timeout: seconds to wait for each result.
    @return: C{(results, elapsed seconds, CPU seconds the workers used)}.
    """
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=target, args=tuple(entry) + (queue,)) for entry in arguments]
    start = time.monotonic()
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=timeout) for _ in workers]
    for worker in workers:
        worker.join(10)
    elapsed = time.monotonic() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return results, elapsed, children.ru_utime + children.ru_stime
