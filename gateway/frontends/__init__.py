"""
Frontends: thin adapters from a protocol to the session core.
"""
