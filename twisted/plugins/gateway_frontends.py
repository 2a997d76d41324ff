"""
gateway's built-in frontends, declared as plugins like any third-party one.
"""

from gateway.frontends.plugin import LazyFrontend

telnet = LazyFrontend(
    "telnet",
    "Telnet (RFC 854) for telnet and MUD clients",
    "gateway.frontends.telnet:build_factory",
)

lines = LazyFrontend(
    "lines",
    "UTF-8 lines for scripts, bots and openssl s_client; client certificate login over TLS",
    "gateway.frontends.lines:build_factory",
)

ssh = LazyFrontend(
    "ssh",
    "SSH (OpenSSH clients) with password or public-key login",
    "gateway.frontends.ssh:build_factory",
)

websocket = LazyFrontend(
    "websocket",
    "WebSocket (RFC 6455) with the browser client: page at /, socket at /ws (needs autobahn)",
    "gateway.frontends.websocket:build_factory",
)

metrics = LazyFrontend(
    "metrics",
    "Prometheus metrics over HTTP at /metrics (keep it on loopback or a private network)",
    "gateway.metrics:build_factory",
)
