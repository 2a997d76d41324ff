"""
Tests that start the daemon, drive real clients or run the benchmark harness.
"""
