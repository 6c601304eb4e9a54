"""OAuth2 pieces without a server: provider presets, SASL strings, the vault, the config."""

import base64

import pytest

from mailproc import config
from mailproc.config import OAuth2Settings
from mailproc.errors import ConfigError, GrantRevoked
from mailproc.oauth import sasl
from mailproc.oauth.grants import grant_name, login_command
from mailproc.oauth.providers import endpoints_for
from mailproc.oauth.vault import Vault


def test_microsoft_preset_is_a_device_flow_with_offline_access_per_use():
    s = OAuth2Settings(provider="microsoft", client_id="app-1", tenant="contoso.com")
    imap = endpoints_for(s, "imap", where="mailboxes.support")
    smtp = endpoints_for(s, "smtp", where="outgoing")
    assert imap.flow == "device"
    assert imap.device_authorization_url == \
        "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/devicecode"
    assert imap.token_url.endswith("/contoso.com/oauth2/v2.0/token")
    assert imap.scopes == ("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access")
    assert smtp.scopes == ("https://outlook.office.com/SMTP.Send", "offline_access")


def test_google_preset_is_a_loopback_flow_that_asks_for_a_refresh_token():
    e = endpoints_for(OAuth2Settings(provider="google", client_id="x.apps"), "imap", where="m")
    assert e.flow == "loopback"
    assert e.scope == "https://mail.google.com/"
    assert e.authorize_params == {"access_type": "offline", "prompt": "consent"}
    assert e.revocation_url == "https://oauth2.googleapis.com/revoke"


def test_settings_win_over_the_preset():
    s = OAuth2Settings(provider="microsoft", client_id="a", scopes=("custom",), flow="loopback",
                       authorization_url="https://login.example/authorize")
    e = endpoints_for(s, "imap", where="m")
    assert (e.flow, e.scopes, e.authorization_url) == ("loopback", ("custom",),
                                                      "https://login.example/authorize")


@pytest.mark.parametrize("settings, message", [
    (OAuth2Settings(provider="generic"), "mailboxes.x.oauth2.client_id: required"),
    (OAuth2Settings(client_id="a", scopes=("s",)), "oauth2.token_url: required"),
    (OAuth2Settings(client_id="a", token_url="https://t/token"), "oauth2.scopes: required"),
    (OAuth2Settings(client_id="a", token_url="https://t/token", scopes=("s",)),
     "oauth2.authorization_url: required for the loopback flow"),
    (OAuth2Settings(client_id="a", token_url="https://t/token", scopes=("s",), flow="device"),
     "oauth2.device_authorization_url: required for the device flow"),
    (OAuth2Settings(client_id="a", token_url="http://idp.example/token", scopes=("s",),
                    device_authorization_url="https://idp.example/device"),
     "oauth2.token_url: expected an https URL"),
])
def test_generic_provider_names_what_is_missing(settings, message):
    with pytest.raises(ConfigError, match=message):
        endpoints_for(settings, "imap", where="mailboxes.x")


def test_generic_with_a_device_endpoint_uses_the_device_flow():
    e = endpoints_for(OAuth2Settings(client_id="a", token_url="http://127.0.0.1:1/token",
                                     device_authorization_url="http://127.0.0.1:1/device",
                                     scopes=("imap", "offline")), "imap", where="m")
    assert (e.flow, e.scope) == ("device", "imap offline")


def test_sasl_strings():
    assert sasl.xoauth2("a@b.example", "tok") == "user=a@b.example\x01auth=Bearer tok\x01\x01"
    assert sasl.oauthbearer("a,x=@b", "tok", "mail.example", 993) == (
        "n,a=a=2Cx=3D@b,\x01host=mail.example\x01port=993\x01auth=Bearer tok\x01\x01")
    with pytest.raises(ConfigError):
        sasl.xoauth2("a@b", "tok\r\nA01 LOGOUT")
    with pytest.raises(ConfigError):
        sasl.oauthbearer("a\x01@b", "tok", "h", 1)


@pytest.mark.parametrize("offered, chosen", [
    (["PLAIN", "XOAUTH2", "OAUTHBEARER"], "OAUTHBEARER"),
    (["xoauth2"], "XOAUTH2"),
    (["oauthbearer"], "OAUTHBEARER"),
    ([], "XOAUTH2"),
])
def test_mechanism_follows_the_server(offered, chosen):
    assert sasl.mechanism(offered) == chosen


def test_vault_seals_and_refuses_another_key():
    sealed = Vault(b"key one").seal("refresh-token-secret")
    assert "refresh-token-secret" not in sealed
    assert base64.urlsafe_b64decode(sealed)  # Fernet's text form
    assert Vault(b"key one").open(sealed, what="grant x") == "refresh-token-secret"
    with pytest.raises(GrantRevoked, match="cannot be decrypted with this MAILPROC_SECRET_KEY"):
        Vault(b"key two").open(sealed, what="grant x")
    assert "key one" not in repr(Vault(b"key one"))


def test_grant_names_and_the_command_to_run_again():
    assert grant_name("support") == "mailbox:support"
    assert grant_name(None) == "outgoing"
    assert login_command("mailbox:support") == "mailproc oauth login support"
    assert login_command("outgoing") == "mailproc oauth login --outgoing"


def test_config_requires_client_id_for_oauth2(tmp_path):
    path = tmp_path / "mailproc.toml"
    path.write_text('[[mailboxes]]\nname = "support"\ntype = "imap"\nhost = "imap.example"\n'
                    'user = "support@example.com"\nauth = "oauth2"\n')
    with pytest.raises(ConfigError, match=r"auth = \"oauth2\" needs user and "
                                          r"mailboxes\[0\].oauth2.client_id"):
        config.load(path, env={})
    path.write_text(path.read_text() + '[mailboxes.oauth2]\nprovider = "microsoft"\n'
                    'client_id = "app-1"\ntenant = "contoso.com"\n')
    box = config.load(path, env={}).mailboxes[0]
    assert (box.auth, box.oauth2.provider, box.oauth2.tenant) == ("oauth2", "microsoft",
                                                                  "contoso.com")
