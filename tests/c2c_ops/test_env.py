import pytest
from django.core.exceptions import ImproperlyConfigured

from c2c_ops.env import env_bool, env_int, env_list, env_str


def test_booleans(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be a boolean"):
        env_bool("FLAG")


def test_integers_with_bounds(monkeypatch):
    monkeypatch.setenv("N", "12")
    assert env_int("N", 5, minimum=1) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env_int("N", 5)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, minimum=1)


def test_lists(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example, b.example ,,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def test_secrets_from_files(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "s3cr3t"
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        env_str("SECRET_KEY")
