"""Customers: who they are, how to reach them (email, phone, push devices), kept from every event."""
