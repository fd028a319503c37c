"""ASGI wiring: the app factory, its lifespan (which owns every provider client) and the GraphQL view."""
