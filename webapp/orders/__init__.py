"""Orders and invoices, and every status change they went through."""
