"""
The behaviour suite of L{tests.behaviour} over every frontend.
"""

import sys
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.behaviour import FrontendBehaviour, JSONLinesClient, LinesClient, SSHClient, SSHLinesClient, TelnetClient, WebSocketClient, WebSocketTLSClient
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "jsonlines"


class TelnetBehaviourTests(FrontendBehaviour, TestCase):
    client = TelnetClient


class TelnetTLSBehaviourTests(FrontendBehaviour, TestCase):
    client = TelnetClient
    tls = True


class LinesBehaviourTests(FrontendBehaviour, TestCase):
    client = LinesClient
    partner = TelnetClient


class LinesTLSBehaviourTests(LinesBehaviourTests):
    tls = True


class SSHBehaviourTests(FrontendBehaviour, TestCase):
    client = SSHClient


class SSHLinesBehaviourTests(FrontendBehaviour, TestCase):
    client = SSHLinesClient


class WebSocketBehaviourTests(FrontendBehaviour, TestCase):
    client = WebSocketClient
    if autobahn is None:
        skip = NEEDS_AUTOBAHN


class WebSocketTLSBehaviourTests(WebSocketBehaviourTests):
    """
    The web client over C{wss://}, through the TLS stack of the daemon.
    """

    client = WebSocketTLSClient
    tls = True


class JSONLinesBehaviourTests(FrontendBehaviour, TestCase):
    """
    The example plugin of examples/jsonlines.
    """

    client = JSONLinesClient

    def setUp(self):
        super().setUp()
        sys.path.insert(0, str(EXAMPLE))
        self.addCleanup(sys.path.remove, str(EXAMPLE))
