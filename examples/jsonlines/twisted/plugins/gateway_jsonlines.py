"""
Declares the JSON-lines frontend to gateway.  This module is imported when
Twisted rebuilds its plugin cache, so it only names the code to load: the
protocol itself is imported when a listener uses it.
"""

from gateway.frontends.plugin import LazyFrontend

jsonlines = LazyFrontend(
    "jsonlines",
    "JSON lines: one JSON message per line (example third-party plugin)",
    "gateway_jsonlines.protocol:build_factory",
)
