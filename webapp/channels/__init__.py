"""Delivery channels (email, SMS, ...) and, later, the providers behind them."""
