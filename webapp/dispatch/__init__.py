"""Dispatch: every planned message, whoever planned it, to the outbox, the queue, the providers and back."""
