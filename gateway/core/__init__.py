"""
The session core: sessions, the command dispatcher and the shared world.
It deals only in lines of text; frontends handle bytes and protocols.
"""
