"""
Tests for L{gateway.upstream.proxy}: PROXY protocol headers as the
HAProxy specification (proxy-protocol.txt, versions 1 and 2) writes them.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import SynchronousTestCase

from gateway.upstream.proxy import V2_SIGNATURE, proxy_header

# A header HAProxy itself sent for a connection from 172.19.0.1:42578 to
# 172.19.0.3:80, and the same connection in version 1.
HAPROXY_V2 = bytes.fromhex("0d0a0d0a000d0a515549540a 2111000c ac130001 ac130003 a652 0050")
HAPROXY_V1 = b"PROXY TCP4 172.19.0.1 172.19.0.3 42578 80\r\n"


class VersionOneTests(SynchronousTestCase):
    """
    Version 1: one line of text.
    """

    def test_tcp4(self):
        header = proxy_header(1, IPv4Address("TCP", "172.19.0.1", 42578), IPv4Address("TCP", "172.19.0.3", 80))
        self.assertEqual(header, HAPROXY_V1)

    def test_tcp6(self):
        """
        IPv6 addresses are written in their short textual form.
        """
        header = proxy_header(
            1, IPv6Address("TCP", "2001:db8:0:0::7", 50000), IPv6Address("TCP", "2001:db8::1", 4000)
        )
        self.assertEqual(header, b"PROXY TCP6 2001:db8::7 2001:db8::1 50000 4000\r\n")

    def test_mapped_ipv4(self):
        """
        A player on an IPv6 listener reached over IPv4 (an IPv4-mapped
        address) going to an IPv4 upstream is announced as TCP4.
        """
        header = proxy_header(
            1, IPv6Address("TCP", "::ffff:192.0.2.7", 41000), IPv4Address("TCP", "127.0.0.1", 4000)
        )
        self.assertEqual(header, b"PROXY TCP4 192.0.2.7 127.0.0.1 41000 4000\r\n")

    def test_mixed_families(self):
        """
        An IPv6 client and an IPv4 destination are both written as IPv6,
        as the specification requires one family for both.
        """
        header = proxy_header(1, IPv6Address("TCP", "2001:db8::7", 41000), IPv4Address("TCP", "127.0.0.1", 4000))
        self.assertEqual(header, b"PROXY TCP6 2001:db8::7 ::ffff:127.0.0.1 41000 4000\r\n")

    def test_scope_left_out(self):
        header = proxy_header(1, IPv6Address("TCP", "fe80::7%eth0", 41000), IPv6Address("TCP", "fe80::1%eth0", 23))
        self.assertEqual(header, b"PROXY TCP6 fe80::7 fe80::1 41000 23\r\n")

    def test_unknown(self):
        """
        A UNIX-socket client, an unknown address or UDP is announced as
        C{UNKNOWN}.
        """
        tcp = IPv4Address("TCP", "127.0.0.1", 4000)
        for source in (UNIXAddress(b"/run/gateway.sock"), None, IPv4Address("UDP", "192.0.2.7", 5)):
            self.assertEqual(proxy_header(1, source, tcp), b"PROXY UNKNOWN\r\n")
        self.assertEqual(proxy_header(1, tcp, None), b"PROXY UNKNOWN\r\n")

    def test_longest_fits(self):
        """
        The longest possible header is the specification's 107 bytes.
        """
        longest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        header = proxy_header(1, IPv6Address("TCP", longest, 65535), IPv6Address("TCP", longest, 65535))
        self.assertEqual(len(header), 104)
        self.assertLessEqual(len(header), 107)


class VersionTwoTests(SynchronousTestCase):
    """
    Version 2: binary.
    """

    def test_tcp4(self):
        header = proxy_header(2, IPv4Address("TCP", "172.19.0.1", 42578), IPv4Address("TCP", "172.19.0.3", 80))
        self.assertEqual(header, HAPROXY_V2)

    def test_tcp6(self):
        header = proxy_header(
            2, IPv6Address("TCP", "2001:db8::7", 50000), IPv6Address("TCP", "2001:db8::1", 4000)
        )
        self.assertEqual(header[:16], V2_SIGNATURE + b"\x21\x21\x00\x24")
        self.assertEqual(
            header[16:],
            bytes.fromhex("20010db8000000000000000000000007 20010db8000000000000000000000001 c350 0fa0"),
        )

    def test_mixed_families(self):
        header = proxy_header(2, IPv4Address("TCP", "192.0.2.7", 41000), IPv6Address("TCP", "::1", 4000))
        self.assertEqual(header[12:16], b"\x21\x21\x00\x24")
        self.assertEqual(header[16:32], bytes.fromhex("00000000000000000000ffffc0000207"))

    def test_local(self):
        """
        A connection that is not TCP over IP gets the C{LOCAL} command with
        no addresses: the server uses the connection's own.
        """
        header = proxy_header(2, UNIXAddress(b"/run/gateway.sock"), IPv4Address("TCP", "127.0.0.1", 4000))
        self.assertEqual(header, V2_SIGNATURE + b"\x20\x00\x00\x00")

    def test_bad_version(self):
        tcp = IPv4Address("TCP", "127.0.0.1", 4000)
        for version in (0, 3, "1", "proxy-v1"):
            error = self.assertRaises(ValueError, proxy_header, version, tcp, tcp)
            self.assertIn("1 or 2", str(error))
