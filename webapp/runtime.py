"""The settings domain code runs with, built once per app (and so once per worker process) from
the Flask config and passed to the code that needs it, instead of each call reading the config.

Plain data: importing it costs nothing and needs no app, so the code it configures stays testable
without one.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class RuntimeSettings:
    production: bool = False
    # Where providers reach this app (https://notify.example.com); receipt URLs derive from it.
    public_base_url: str = ""
    # Delivery: the first retry's back-off; later ones double (with jitter).
    retry_base_seconds: float = 2.0
    # Circuit breaker: this many failures in a row pause a provider this long.
    circuit_failure_threshold: int = 5
    circuit_cooldown_seconds: float = 60.0
    # Escalations of one cause within this window go out as one alert.
    alert_group_seconds: float = 60.0
    # The recovery sweep: how often, and how old a row must be before it counts as stranded.
    sweep_interval: int = 15
    sweep_unqueued_grace: float = 5.0
    sweep_requeue_after: float = 30.0
    # A delivery batch takes no new message after this long and hands the rest back; one provider
    # call may take at most provider_call_seconds more. The claim's lease outlasts both, so the
    # sweep (which takes only rows whose lease expired) can never take a row a live batch holds.
    batch_budget_seconds: float = 20.0
    provider_call_seconds: float = 30.0
    # Templates: an SMS template longer than this many segments (with the sample data) is refused.
    template_max_sms_segments: int = 3
    # Tests only: SNS certificate URLs matching this pattern are fetched although not on AWS.
    sns_cert_url_pattern: str | None = None

    @property
    def lease_seconds(self) -> float:
        return self.batch_budget_seconds + self.provider_call_seconds + 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> RuntimeSettings:
        values = {f.name: config[f.name.upper()] for f in fields(cls)
                  if f.name.upper() in config and config[f.name.upper()] is not None}
        values["production"] = config.get("APP_ENV") == "production"
        values["public_base_url"] = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        return cls(**values)
