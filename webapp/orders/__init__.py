"""Customers and their orders, as upserted from every source."""
