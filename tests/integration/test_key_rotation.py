"""`flask secrets rotate`: every stored secret re-encrypted with the new first key, readable after
the old key is dropped; a secret no key can read aborts the run and changes nothing."""
import json

from cryptography.fernet import Fernet

from tests.fakes.providers import SENDGRID_KEY
from webapp.channels.accounts import configure_provider
from webapp.channels.models import ProviderConfig
from webapp.crypto import Vault
from webapp.events.integrations import secret_for, set_secret
from webapp.extensions import db

NEW_KEY = Fernet.generate_key().decode()


def use_keys(app, keys: str) -> None:
    app.config["ENCRYPTION_KEY"] = keys
    app.extensions.pop("vault", None)


def test_rotation_moves_every_secret_to_the_new_key(app, store):
    old_key = app.config["ENCRYPTION_KEY"]
    configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "o@acme.test"})
    set_secret(store.id, "shopify", "shpss_rotate_me_0123456789")
    use_keys(app, f"{NEW_KEY},{old_key}")
    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "provider_configs.secrets_encrypted\t1 re-encrypted" in result.output

    use_keys(app, NEW_KEY)  # the old key is gone; everything still reads
    row = db.session.query(ProviderConfig).one()
    assert json.loads(Vault(NEW_KEY).decrypt(row.secrets_encrypted))["api_key"] == SENDGRID_KEY
    assert secret_for(store.id, "shopify") == "shpss_rotate_me_0123456789"


def test_a_secret_no_key_can_read_aborts_the_rotation_and_changes_nothing(app, store):
    configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "o@acme.test"})
    before = db.session.query(ProviderConfig).one().secrets_encrypted
    use_keys(app, NEW_KEY)  # the key that wrote it was dropped too early
    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])
    assert result.exit_code == 1 and "nothing was changed" in result.output
    db.session.expire_all()
    assert db.session.query(ProviderConfig).one().secrets_encrypted == before


def test_generate_key_prints_a_usable_fernet_key(app):
    result = app.test_cli_runner().invoke(args=["secrets", "generate-key"])
    Fernet(result.output.strip().encode())


def test_the_inbox_secret_is_created_from_the_cli_and_rotated_with_the_rest(app, store):
    from webapp.inbox.secrets import inbox_secret

    result = app.test_cli_runner().invoke(args=["stores", "inbox-secret", store.slug])
    assert result.exit_code == 0, result.output
    secret = result.output.splitlines()[0]
    assert inbox_secret(store.id) == secret
    use_keys(app, f"{NEW_KEY},{app.config['ENCRYPTION_KEY']}")
    assert app.test_cli_runner().invoke(args=["secrets", "rotate"]).exit_code == 0
    use_keys(app, NEW_KEY)
    assert inbox_secret(store.id) == secret
    assert app.test_cli_runner().invoke(args=["stores", "inbox-secret", "nope"]).exit_code == 1
