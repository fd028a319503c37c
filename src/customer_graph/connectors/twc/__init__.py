"""The TWC (The Wishlist Co) customer service connector."""

from customer_graph.connectors.twc.connector import TwcConfig, TwcConnector

__all__ = ["TwcConfig", "TwcConnector"]
