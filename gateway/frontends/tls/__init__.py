"""
TLS for any listener: certificates, the shared server context, reloading,
and the handshake gate every C{tls = true} listener's factory is wrapped in.
"""
