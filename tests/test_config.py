"""
Configuration loading and validation: every kind of bad input is refused
with the file, the key and what was expected.
"""

import dataclasses
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from gateway.config import load_config, parse_listen_override
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


class ConfigTests(SynchronousTestCase):
    def write(self, text):
        path = Path(self.mktemp())
        path.write_text(text)
        return path

    def refused(self, text, *fragments, **kwargs):
        path = self.write(text)
        error = self.assertRaises(ConfigError, load_config, path, **kwargs)
        for fragment in (str(path),) + fragments:
            self.assertIn(fragment, str(error))
        return str(error)

    def test_embedded_defaults(self):
        config = load_config()
        self.assertIsNone(config.path)
        self.assertEqual(config.login.timeout, 60.0)
        self.assertEqual(config.login.max_attempts, 3)
        self.assertEqual(config.limits.max_line_bytes, 4096)
        self.assertEqual(config.data_dir, Path.cwd().resolve() / "var")
        self.assertTrue(config.world_file.is_file())
        self.assertEqual(config.listeners["telnet"].endpoint, "tcp:4000:interface=127.0.0.1")

    def test_shipped_config_matches_defaults(self):
        """
        etc/gateway.toml shows every setting with its default value.
        """
        shipped = load_config(ROOT / "etc" / "gateway.toml")
        defaults = load_config()
        for section in ("accounts", "login", "limits"):
            self.assertEqual(getattr(shipped, section), getattr(defaults, section), section)
        self.assertEqual(shipped.server.name, defaults.server.name)
        # The same listeners, on the same endpoints (the options tables are
        # shown in full in the file, and checked by each frontend).
        self.assertEqual(
            {name: dataclasses.replace(listener, options={}) for name, listener in shipped.listeners.items()},
            {name: dataclasses.replace(listener, options={}) for name, listener in defaults.listeners.items()},
        )
        self.assertEqual(shipped.data_dir, (ROOT / "var").resolve())
        self.assertEqual(shipped.world_file, (ROOT / "etc" / "world.toml").resolve())

    def test_relative_paths_follow_the_config_file(self):
        path = self.write('[server]\ndata_dir = "state"\n')
        self.assertEqual(load_config(path).data_dir, path.resolve().parent / "state")

    def test_data_dir_override(self):
        config = load_config(self.write('[server]\ndata_dir = "state"\n'), data_dir="/srv/x")
        self.assertEqual(config.data_dir, Path("/srv/x"))

    def test_missing_file(self):
        error = self.assertRaises(ConfigError, load_config, "/nonexistent/gateway.toml")
        self.assertIn("/nonexistent/gateway.toml: cannot read configuration", str(error))

    def test_invalid_toml(self):
        self.refused("[server\n", "not valid TOML")

    def test_unknown_section(self):
        self.refused("[sever]\nname = 'x'\n", "unknown section [sever]", "known sections:")

    def test_unknown_key(self):
        self.refused("[login]\ntimeuot = 5\n", "unknown key login.timeuot", "known keys: max_attempts, max_hashing_queue, timeout")

    def test_wrong_type(self):
        self.refused("[login]\nmax_attempts = 'three'\n", "login.max_attempts must be an integer, not str 'three'")

    def test_bool_is_not_a_number(self):
        self.refused("[login]\ntimeout = true\n", "login.timeout must be a number")

    def test_integer_accepted_for_float(self):
        self.assertEqual(load_config(self.write("[login]\ntimeout = 5\n")).login.timeout, 5.0)

    def test_out_of_range(self):
        self.refused("[login]\ntimeout = 0\n", "login.timeout must be a number greater than 0, not 0")
        self.refused("[limits]\nmax_line_bytes = 10\n", "limits.max_line_bytes must be a number of at least 64")

    def test_inconsistent_name_lengths(self):
        self.refused("[accounts]\nname_min_length = 10\nname_max_length = 5\n", "name_max_length must be at least")

    def test_section_not_a_table(self):
        self.refused("login = 5\n", "[login] must be a table")

    def test_bad_endpoint(self):
        self.refused(
            '[listeners.telnet]\nfrontend = "telnet"\nendpoint = "tcp:notaport"\n',
            "listeners.telnet.endpoint 'tcp:notaport' is not a valid server endpoint",
        )
        self.refused(
            '[listeners.telnet]\nfrontend = "telnet"\nendpoint = "carrier-pigeon:4000"\n',
            "is not a valid server endpoint",
        )

    def test_disabled_listener_endpoint_not_checked(self):
        config = load_config(self.write('[listeners.telnet]\nfrontend = "telnet"\nendpoint = "x"\nenabled = false\n'))
        self.assertFalse(config.listeners["telnet"].enabled)

    def test_listener_needs_frontend_and_endpoint(self):
        self.refused('[listeners.telnet]\nendpoint = "tcp:4000"\n', "listeners.telnet.frontend is required")
        self.refused('[listeners.telnet]\nfrontend = "telnet"\n', "listeners.telnet.endpoint is required")

    def test_bad_listener_name(self):
        self.refused('[listeners.Tel_net]\nfrontend = "telnet"\nendpoint = "tcp:4000"\n', "listener name 'Tel_net'")

    def test_listen_override(self):
        path = self.write('[listeners.telnet]\nfrontend = "telnet"\nendpoint = "tcp:4000"\n')
        config = load_config(path, overrides={"telnet": "tcp6:5000:interface=\\:\\:1"})
        self.assertEqual(config.listeners["telnet"].endpoint, "tcp6:5000:interface=\\:\\:1")
        self.assertFalse(load_config(path, overrides={"telnet": "off"}).listeners["telnet"].enabled)

    def test_listen_override_unknown_listener(self):
        error = self.assertRaises(ConfigError, load_config, None, {"bots": "tcp:22"})
        self.assertIn("--listen bots=...: no listener named 'bots'", str(error))
        self.assertIn("configured: lines-tls, metrics, ssh, telnet, telnet-tls, web", str(error))

    def test_listen_override_switches_a_listener_on(self):
        """
        C{--listen web=ENDPOINT} serves the web listener, which is off by
        default, with or without a configuration file.
        """
        for path in (None, ROOT / "etc" / "gateway.toml"):
            self.assertFalse(load_config(path).listeners["web"].enabled)
            web = load_config(path, overrides={"web": "tcp:4080:interface=127.0.0.1"}).listeners["web"]
            self.assertTrue(web.enabled)
            self.assertEqual((web.frontend, web.endpoint), ("websocket", "tcp:4080:interface=127.0.0.1"))

    def test_listen_override_bad_endpoint(self):
        error = self.assertRaises(ConfigError, load_config, None, {"telnet": "tcp:x"})
        self.assertIn("listeners.telnet.endpoint 'tcp:x' is not a valid server endpoint", str(error))

    def test_parse_listen_override(self):
        self.assertEqual(parse_listen_override("telnet=tcp:4000:interface=::"), ("telnet", "tcp:4000:interface=::"))
        self.assertRaises(ConfigError, parse_listen_override, "telnet")
        self.assertRaises(ConfigError, parse_listen_override, "=tcp:4000")
