"""In-app messages: stored per customer and read by the storefront through a JSON feed."""
