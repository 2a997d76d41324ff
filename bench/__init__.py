"""
Load and speed benchmarks: gateway side by side with a bare Twisted
server (see docs/benchmarks.md).  Not part of the installed package.
"""
