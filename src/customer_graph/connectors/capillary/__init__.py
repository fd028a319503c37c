"""The Capillary v2 connector (``capillary-v2-customer-api.md``, ``capillary-v2-register-customer.md``)."""

from customer_graph.connectors.capillary.auth import OAuthCredentials, TillCredentials
from customer_graph.connectors.capillary.connector import CAPABILITIES, CapillaryConfig, CapillaryConnector

__all__ = ["CAPABILITIES", "CapillaryConfig", "CapillaryConnector", "OAuthCredentials", "TillCredentials"]
