"""Resolvers: thin functions from arguments to loaders and identity, attached to the schema's types."""
