"""customer-graph: one GraphQL graph over every customer API a business runs."""

__version__ = "0.1.0"
