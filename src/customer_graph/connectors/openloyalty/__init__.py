"""The Open Loyalty connector: admin JWT auth, form-encoded writes, the customer list for lookups and search."""

from customer_graph.connectors.openloyalty.connector import OpenLoyaltyConfig, OpenLoyaltyConnector

__all__ = ["OpenLoyaltyConfig", "OpenLoyaltyConnector"]
