"""
The web client in headless Chromium (driven by selenium) beside a telnet
player.  Set C{GATEWAY_SCREENSHOT=docs/web-client.png} to keep the page's
screenshot for the README.
"""

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.daemon import ROOT, Daemon, LineClient, sign_up

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 20

#: A room whose description uses ANSI colours: 16-colour bold, 256-colour
#: and truecolor SGR.
COLOUR_WORLD = r"""
start = "lab"
[rooms.lab]
name = "The Colour Lab"
description = "Three lamps glow here: a \u001b[1;32mgreen\u001b[0m one, an \u001b[38;5;208morange\u001b[0m one and a \u001b[38;2;90;140;255mblue\u001b[0m one."
exits = {}
"""


def _missing():
    if webdriver is None:
        return "selenium is not installed (pip install selenium)"
    if not (CHROMIUM and CHROMEDRIVER):
        return "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
    try:
        import autobahn  # noqa: F401
    except ImportError:
        return "autobahn is not installed (the websocket frontend needs it)"
    return None


def trusting(directory, ca):
    """
    A home directory whose NSS database (where Chromium on Linux looks for
    the authorities its user trusts) trusts C{ca} to identify servers.

    @param directory: where to make the home directory.
    @param ca: a PEM file of the authority.
    @return: the home directory.
    """
    home = directory / "home"
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    for command in (["-N", "--empty-password"], ["-A", "-t", "C,,", "-n", "gateway development CA", "-i", str(ca)]):
        subprocess.run(["certutil", "-d", f"sql:{database}", *command], check=True, timeout=WAIT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return home


def start_chromium(case, directory, ca=None):
    """
    Start headless Chromium for the test C{case}, quit when it ends.  It
    records its network events, for L{sockets_opened}.

    @param directory: a directory for the browser's profile.
    @param ca: a PEM file of an authority to trust besides the usual ones
        (the daemon's development CA); needs C{certutil}.
    @return: the selenium C{WebDriver}.
    """
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={directory / 'chromium'}", "--window-size=900,640",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    env = None
    if ca is not None:
        env = dict(os.environ, HOME=str(trusting(directory, ca)))
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER, env=env), options=options)
    case.addCleanup(browser.quit)
    browser.set_page_load_timeout(WAIT)
    return browser


def sockets_opened(browser):
    """
    The URLs of the WebSockets the page opened since the last call.

    @param browser: a C{WebDriver} of L{start_chromium}.
    """
    events = (json.loads(entry["message"])["message"] for entry in browser.get_log("performance"))
    return [event["params"]["url"] for event in events if event["method"] == "Network.webSocketCreated"]


class WebClientTests(TestCase):
    """
    The web client in Chromium.

    @cvar tls: whether the web listener has C{tls = true}: the page is
        then loaded over C{https://}, Chromium trusting the development
        CA.
    """

    skip = _missing()
    tls = False

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        world = directory / "world.toml"
        world.write_text(COLOUR_WORLD)
        config.write_text(textwrap.dedent(f"""
            [world]
            file = "{world}"
            [listeners.telnet]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            [listeners.web]
            frontend = "websocket"
            endpoint = "tcp:0:interface=127.0.0.1"
            tls = {str(self.tls).lower()}
        """))
        self.daemon = Daemon(directory / "var", config=config, exclusive=False)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)

        ca = directory / "var" / "tls-dev-ca.pem" if self.tls else None
        self.browser = start_chromium(self, directory, ca)

    def wait_for_output(self, text):
        """
        Wait until the page's output shows C{text}.
        """
        output = self.browser.find_element(By.ID, "output")
        WebDriverWait(self.browser, WAIT).until(
            lambda _: text in output.text, f"{text!r} never appeared in the page; it shows:\n{output.text}"
        )

    def wait_for(self, condition, what):
        WebDriverWait(self.browser, WAIT).until(lambda _: condition(), what)

    def type_line(self, text):
        field = self.browser.find_element(By.ID, "input")
        field.send_keys(text + Keys.ENTER)

    def test_log_in_say_and_hear_telnet(self):
        http, ws = ("https", "wss") if self.tls else ("http", "ws")
        # Typed without https://, the address of a TLS listener leads there.
        self.browser.get(f"http://127.0.0.1:{self.daemon.ports['web']}/")
        self.assertEqual(self.browser.current_url, f"{http}://127.0.0.1:{self.daemon.ports['web']}/")
        status = self.browser.find_element(By.ID, "status")
        prompt = self.browser.find_element(By.ID, "prompt")
        field = self.browser.find_element(By.ID, "input")
        self.wait_for(lambda: status.text == "connected", "the page never connected")
        self.assertEqual(sockets_opened(self.browser), [f"{ws}://127.0.0.1:{self.daemon.ports['web']}/ws"])
        self.wait_for(lambda: prompt.text.strip() == "Name:", "no name prompt")
        self.wait_for_output("Welcome to gateway.")

        self.type_line("Brenda")
        self.wait_for(lambda: "Create it?" in prompt.text, "no create prompt")
        self.type_line("yes")
        self.wait_for(lambda: field.get_attribute("type") == "password", "the password field is not masked")
        self.type_line("secret1")
        self.wait_for(lambda: "Repeat" in prompt.text, "no repeat prompt")
        self.assertEqual(field.get_attribute("type"), "password")
        self.type_line("secret1")
        self.wait_for_output("Exits:")
        self.assertEqual(field.get_attribute("type"), "text")
        self.assertNotIn("secret1", self.browser.find_element(By.ID, "output").text)
        self.wait_for_output("Three lamps glow here: a green one, an orange one and a blue one.")
        colours = {
            span.text: (span.value_of_css_property("color"), span.get_attribute("class"))
            for span in self.browser.find_elements(By.CSS_SELECTOR, "#output span")
        }
        self.assertEqual(colours["green"], ("rgba(95, 179, 74, 1)", "b"))
        self.assertEqual(colours["orange"], ("rgba(255, 135, 0, 1)", ""))
        self.assertEqual(colours["blue"], ("rgba(90, 140, 255, 1)", ""))
        self.assertEqual(colours[" one and a "][1], "")

        player = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(player.close)
        sign_up(player, "Tim")
        self.wait_for_output("Tim has arrived.")
        self.type_line("say hello from the browser")
        player.expect('Brenda says, "hello from the browser"')
        player.send_line("say welcome, browser user")
        self.wait_for_output('Tim says, "welcome, browser user"')

        # History: up recalls the last line.
        field.send_keys(Keys.ARROW_UP)
        self.assertEqual(field.get_attribute("value"), "say hello from the browser")
        field.clear()

        screenshot = os.environ.get("GATEWAY_SCREENSHOT")
        if screenshot:
            self.browser.save_screenshot(str(ROOT / screenshot))

        # On a phone-width screen nothing sticks out sideways.
        self.browser.set_window_size(380, 700)
        self.wait_for(
            lambda: self.browser.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth"
                " && document.getElementById('send').getBoundingClientRect().right <= window.innerWidth"
            ),
            "the page is wider than a phone screen",
        )

        # A server shutdown is shown with its message; the page does not
        # retry by itself but offers a button to reconnect once the daemon
        # is back on the same port.
        port = self.daemon.ports["web"]
        self.daemon.stop()
        self.wait_for(lambda: status.text == "disconnected", "the shutdown is not shown")
        self.wait_for_output("The server is shutting down. Goodbye.")
        reconnect = self.browser.find_element(By.ID, "reconnect")
        self.assertTrue(reconnect.is_displayed())
        # Only the web listener moves; telnet keeps its configured endpoint.
        self.daemon.listen = [f"web=tcp:{port}:interface=127.0.0.1"]
        self.daemon.start(expect=2)
        self.assertEqual(status.text, "disconnected")
        reconnect.click()
        self.wait_for(lambda: status.text == "connected", "the page did not reconnect")
        self.assertEqual(sockets_opened(self.browser), [f"{ws}://127.0.0.1:{port}/ws"])
        self.wait_for(lambda: prompt.text.strip() == "Name:", "no name prompt after reconnecting")


class WebClientOverTLSTests(WebClientTests):
    """
    The same page over C{https://}, connecting with C{wss://}; Chromium
    verifies the development certificate for 127.0.0.1.
    """

    tls = True
    skip = _missing() or (
        None if shutil.which("certutil") else "certutil is not installed (apt-get install libnss3-tools)"
    )
