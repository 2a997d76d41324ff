"""
Install the example plugin next to gateway: pip install ./examples/jsonlines
"""

from setuptools import setup

setup(
    name="gateway-jsonlines",
    version="1.0",
    description="Example gateway frontend plugin: the game over JSON lines",
    packages=["gateway_jsonlines", "twisted.plugins"],
    install_requires=["gateway"],
)
