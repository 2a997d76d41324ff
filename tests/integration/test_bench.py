"""
The benchmark harness still works: a smoke run with tiny sizes against
the real daemon and the baseline server.  Nothing here asserts a time;
only that every scenario ran, every chat line was delivered, and the page
and plot were written.
"""

import json
import subprocess
import sys

from twisted.trial.unittest import SkipTest, TestCase

from tests.daemon import ROOT

try:
    import matplotlib  # noqa: F401
    import psutil  # noqa: F401
except ImportError as e:
    psutil = None
    missing = str(e)


class BenchSmokeTests(TestCase):
    def setUp(self):
        if psutil is None:
            raise SkipTest(f"the benchmark harness needs psutil and matplotlib: {missing}")

    def test_smoke_run_writes_the_page(self):
        out = self.mktemp()
        process = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "run"), "--smoke", "--out", out],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240,
        )
        output = process.stdout.decode("utf-8", "replace")
        self.assertEqual(process.returncode, 0, output)
        with open(f"{out}/benchmarks.json") as f:
            results = json.load(f)
        delivered = [r for r in results["rows"] if r["metric"].endswith("delivered / expected")]
        self.assertEqual(len(delivered), 3)
        for row in delivered:
            self.assertEqual((row["gateway"], row["baseline"]), (100, 100))
        for row in results["rows"]:
            self.assertIsNotNone(row["gateway"], row)
        self.assertEqual(sorted(results["sweep"]), ["baseline", "gateway"])
        with open(f"{out}/benchmarks.md") as f:
            page = f.read()
        self.assertIn("| fan-out burst N=4 K=2 M=3 | delivered lines/s", page)
        self.assertIn("bench/run --smoke", page)
        self.assertIn("| TLS handshakes, 1 clients for 0.5 s, better of two | handshakes per second", page)
        self.assertIn("| relay to a game, N=3 sessions at 5 lines/s, floods of 5 | flood lines/s to clients", page)
        with open(f"{out}/benchmarks.png", "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
