"""
gateway: one shared multi-user text world served over telnet, TLS, SSH and
plugin protocols, built on Twisted.
"""

__version__ = "0.1.0"
