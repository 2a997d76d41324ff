"""
C{twistd gateway}: the daemon as a twistd plugin.
"""

from twisted.application.service import ServiceMaker

gateway = ServiceMaker(
    "gateway",
    "gateway.tap",
    "A shared multi-user text world over telnet, TLS, SSH and plugins.",
    "gateway",
)
