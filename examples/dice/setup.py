"""
Install the example game plugin next to gateway: pip install ./examples/dice
"""

from setuptools import setup

setup(
    name="gateway-dice",
    version="1.0",
    description="Example gateway game plugin: dice rolls and a message board in every room",
    packages=["gateway_dice", "twisted.plugins"],
    install_requires=["gateway"],
)
