"""Channels (email, SMS, WhatsApp, push, in-app, ops), the store's provider accounts behind them, and the adapters."""
