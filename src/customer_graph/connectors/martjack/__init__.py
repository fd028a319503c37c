"""Martjack (Capillary Anywhere Commerce) customers: see ``connector.py`` for how each operation is done."""

from customer_graph.connectors.martjack.connector import CAPABILITIES, MartjackConfig, MartjackConnector

__all__ = ["CAPABILITIES", "MartjackConfig", "MartjackConnector"]
