"""
setup.py ships every package of the checkout (the tests import from the
checkout, so a package left out would only break installed copies).
"""

import ast
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

ROOT = Path(__file__).resolve().parent.parent


def declared_packages():
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "packages":
            return {element.value for element in node.value.elts}
    raise AssertionError("setup.py has no packages= list")


class PackagingTests(SynchronousTestCase):
    def setUp(self):
        if not (ROOT / "setup.py").exists():
            raise SkipTest(f"{ROOT / 'setup.py'} is not here (the Debian package build copies only tests/ and etc/)")

    def test_every_package_is_declared(self):
        found = {
            ".".join(init.parent.relative_to(ROOT).parts)
            for init in (ROOT / "gateway").rglob("__init__.py")
        }
        self.assertEqual(declared_packages() - {"twisted.plugins"}, found)

    def test_plugins_have_no_init(self):
        """
        twisted/plugins is a namespace shared with Twisted: no __init__.py.
        """
        self.assertFalse((ROOT / "twisted" / "__init__.py").exists())
        self.assertFalse((ROOT / "twisted" / "plugins" / "__init__.py").exists())
        self.assertIn("twisted.plugins", declared_packages())
