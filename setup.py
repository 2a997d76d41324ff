from setuptools import setup

import re

with open("gateway/__init__.py") as f:
    version = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)

with open("README.md", encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="gateway",
    version=version,
    description="A shared multi-user text world over telnet, TLS, SSH and plugin protocols, on Twisted",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=[
        "gateway",
        "gateway.auth",
        "gateway.core",
        "gateway.core.commands",
        "gateway.frontends",
        "gateway.frontends.ssh",
        "gateway.frontends.tls",
        "gateway.frontends.telnet",
        "gateway.game",
        "gateway.store",
        "gateway.upstream",
        "twisted.plugins",
    ],
    package_data={"gateway": ["data/*", "data/web/*"]},
    install_requires=[
        "twisted[conch]>=22.4",
        "pyOpenSSL>=23.0",
        "cryptography>=38",
        "service-identity>=18.1",
        "zope.interface>=5.5",
        "argon2-cffi>=21.1",
        # The game reads its live figures (MSSP, who, stats) from its metrics.
        "prometheus-client>=0.16",
    ],
    extras_require={
        "test": ["hypothesis>=6.36", "telnetlib3>=5.0", "pexpect>=4.8", "autobahn>=22.7", "selenium>=4.8", "psutil", "matplotlib", "paramiko>=2.12"],
        "websocket": ["autobahn>=22.7"],
    },
    entry_points={"console_scripts": ["gateway-admin = gateway.admin:main"]},
    classifiers=[
        "Framework :: Twisted",
        "Programming Language :: Python :: 3",
        "Topic :: Games/Entertainment :: Multi-User Dungeons (MUD)",
    ],
)
