"""The people who work in a store's dashboard: adding them, their roles, removing them."""
