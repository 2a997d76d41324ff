"""
Encoding the core's text for line clients, and what is cached.
"""

from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.text import CACHED_LENGTH, encode_line


class EncodeLineTests(SynchronousTestCase):
    def test_lines_end_in_crlf(self):
        self.assertEqual(encode_line("a\nb\r\nc"), b"a\r\nb\r\nc\r\n")
        self.assertEqual(encode_line("Name: ", newline=False), b"Name: ")

    def test_missing_characters_replaced(self):
        self.assertEqual(encode_line("caf\u00e9", "ascii"), b"caf?\r\n")

    def test_short_text_encoded_once(self):
        short = "Bob says, \"cached?\""
        self.assertIs(encode_line(short), encode_line(short))

    def test_long_text_not_kept(self):
        long_text = "x" * (CACHED_LENGTH + 1)
        before = encode_line.cache_info().currsize
        self.assertEqual(encode_line(long_text), long_text.encode() + b"\r\n")
        self.assertIsNot(encode_line(long_text), encode_line(long_text))
        self.assertEqual(encode_line.cache_info().currsize, before)
