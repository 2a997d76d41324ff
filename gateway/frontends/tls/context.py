"""
The one server-side TLS context every C{tls = true} listener shares, built
to a fixed policy and replaced as a whole when the certificate is reloaded.
"""

from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.logger import Logger
from zope.interface import implementer

from gateway.errors import ConfigError, StartupError
from gateway.frontends.tls.keypair import (
    DEVELOPMENT_CA, DEVELOPMENT_CERTIFICATE, DEVELOPMENT_KEY, covers, generate_development_certificate,
    load_key_pair, use_key_pair,
)

_VERSIONS = {"TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION}

#: Refuse renegotiation (OpenSSL's SSL_OP_NO_RENEGOTIATION, 1.1.0h and
#: later); older pyOpenSSL releases lack the name, not the option.
OP_NO_RENEGOTIATION = getattr(SSL, "OP_NO_RENEGOTIATION", 0x40000000)

#: The options every context sets.
POLICY_OPTIONS = (
    SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE | OP_NO_RENEGOTIATION
    | SSL.OP_NO_SSLv2 | SSL.OP_NO_SSLv3 | SSL.OP_NO_TLSv1 | SSL.OP_NO_TLSv1_1
)


def _accept_any_certificate(connection, certificate, errno, depth, ok):
    """
    A client certificate is an identity, not a claim a CA vouches for:
    self-signed ones are welcome, and expiry is checked (with a clear
    message) once the handshake is done.
    """
    return True


def build_context(settings, pair, request_client_certificates):
    """
    A server context for one certificate and the policy in C{settings}.

    @param settings: the L{gateway.config.TLSSettings}.
    @param pair: the L{gateway.frontends.tls.keypair.KeyPair}.
    @param request_client_certificates: whether clients are asked for a
        certificate.
    @raise ConfigError: when C{tls.ciphers} selects no cipher.
    @rtype: L{OpenSSL.SSL.Context}
    """
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(_VERSIONS[settings.min_version])
    context.set_options(POLICY_OPTIONS)
    try:
        context.set_cipher_list(settings.ciphers.encode("ascii"))
    except (SSL.Error, UnicodeEncodeError):
        raise ConfigError(f"tls.ciphers {settings.ciphers!r} selects no cipher OpenSSL knows")
    use_key_pair(context, pair.chain, pair.key)
    if request_client_certificates:
        context.set_verify(SSL.VERIFY_PEER, _accept_any_certificate)
        # Sessions of a context that verifies peers need an id context,
        # or OpenSSL refuses to resume them.
        context.set_session_id(b"gateway-client-certificates")
    else:
        context.set_session_id(b"gateway")
    return context


class ServerTLS:
    """
    The certificate and contexts of the whole daemon.

    @ivar pair: the L{KeyPair} being served.
    @ivar ca_path: the generated development CA file, or L{None} when the
        configured certificate is served.
    @ivar certificate_path: the certificate file being served.
    """

    log = Logger()

    def __init__(self, config):
        """
        Load (or generate) the certificate and build the contexts.

        @param config: the L{gateway.config.Config}.
        @raise StartupError: when the certificate or key is unusable.
        @raise ConfigError: when the TLS settings are.
        """
        self._config = config
        self._contexts = self._load()

    def _paths(self):
        tls = self._config.tls
        if bool(tls.certificate) != bool(tls.key):
            raise ConfigError("tls.certificate and tls.key must be set together (or neither, for a development certificate)")
        if tls.certificate:
            return self._config.resolve(tls.certificate), self._config.resolve(tls.key), None
        directory = self._config.data_dir
        certificate, key, ca = directory / DEVELOPMENT_CERTIFICATE, directory / DEVELOPMENT_KEY, directory / DEVELOPMENT_CA
        host_name = self._config.server.host_name
        try:
            reuse = covers(load_key_pair(certificate, key).chain[0], host_name) and ca.exists()
        except StartupError:
            reuse = False
        if not reuse:
            try:
                generate_development_certificate(directory, host_name)
            except OSError as e:
                raise StartupError(
                    f"{e.filename or directory}: cannot write the development TLS certificate: {e.strerror}"
                )
            self.log.warn(
                "Generated a development TLS certificate for {host} in {path}; clients can verify it with {ca}. "
                "Configure tls.certificate and tls.key for a real one.",
                host=host_name, path=certificate, ca=ca,
            )
        return certificate, key, ca

    def _load(self):
        certificate, key, ca = self._paths()
        pair = load_key_pair(certificate, key)
        contexts = {mode: build_context(self._config.tls, pair, mode) for mode in (False, True)}
        self.pair, self.ca_path, self.certificate_path = pair, ca, certificate
        self.log.info(
            "TLS certificate {path}: SHA-256 fingerprint {fingerprint}, expires {expires}",
            path=certificate, fingerprint=pair.fingerprint, expires=pair.expires,
        )
        return contexts

    def reload(self):
        """
        Read the certificate and key again.  New connections get the new
        ones; open connections keep theirs.  When the files are unusable
        the old certificate stays in service and the reason is logged.

        @return: whether the new certificate is now served.
        """
        try:
            self._contexts = self._load()
        except (StartupError, ConfigError) as e:
            self.log.error("TLS reload failed, still serving the previous certificate: {error}", error=str(e))
            return False
        return True

    def context(self, request_client_certificates):
        """
        The current context.

        @rtype: L{OpenSSL.SSL.Context}
        """
        return self._contexts[request_client_certificates]

    def creator(self, request_client_certificates):
        """
        A connection creator for L{twisted.protocols.tls.TLSMemoryBIOFactory}
        that always uses the current context.
        """
        return _ConnectionCreator(self, request_client_certificates)


@implementer(IOpenSSLServerConnectionCreator)
class _ConnectionCreator:
    def __init__(self, tls, request_client_certificates):
        self._tls = tls
        self._request = request_client_certificates

    def serverConnectionForTLS(self, tlsProtocol):
        return SSL.Connection(self._tls.context(self._request), None)
