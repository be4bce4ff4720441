"""Order and invoice events from every source, normalized into one shape; their signatures and secrets."""
