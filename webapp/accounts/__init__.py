"""Stores, staff users, roles and sign-in."""
