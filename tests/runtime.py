"""Changing an app's settings mid-test the way a restart with new environment would: the config
and the RuntimeSettings built from it (webapp/runtime.py) change together."""
from __future__ import annotations

from webapp.channels import egress
from webapp.runtime import RuntimeSettings


def reconfigure(app, **values) -> RuntimeSettings:
    app.config.update(values)
    app.extensions["runtime_settings"] = RuntimeSettings.from_config(app.config)
    egress.set_policy(production=app.extensions["runtime_settings"].production)
    return app.extensions["runtime_settings"]


def settings_of(app) -> RuntimeSettings:
    return app.extensions["runtime_settings"]
