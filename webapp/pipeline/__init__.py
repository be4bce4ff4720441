"""Orchestration: the one place that strings events, orders, customers, planning and dispatch together."""
