from webapp.config import load_config
from webapp.runtime import RuntimeSettings


def test_settings_are_read_once_from_the_config(tmp_path):
    config = load_config(str(tmp_path), {"APP_ENV": "production", "SECRET_KEY": "k", "ENCRYPTION_KEY": "e",
                                         "PUBLIC_BASE_URL": "https://notify.example.com/", "SWEEP_INTERVAL": 3,
                                         "CIRCUIT_FAILURE_THRESHOLD": 2})
    settings = RuntimeSettings.from_config(config)
    assert settings.production and settings.public_base_url == "https://notify.example.com"
    assert (settings.sweep_interval, settings.circuit_failure_threshold) == (3, 2)
    assert RuntimeSettings.from_config({}) == RuntimeSettings()
