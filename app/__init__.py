"""Command Desk (应急指挥台): console and central server of a district command centre."""

__version__ = "0.1.0"
