"""Order and invoice events from every source, normalized into one shape."""
