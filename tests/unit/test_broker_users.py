"""The bodies' broker credentials: the file both sides read, and the definitions document
that provisions them in one rabbitmqctl call."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from contracts.broker_users import BrokerUser, read_users, users_for, write_users
from gateway.broker.provision import definitions, password_hash


def test_a_bodys_url_keeps_the_nodes_and_swaps_the_credentials() -> None:
    user = BrokerUser("health", "gw.body.health", "s3cret")
    assert user.amqp_url("amqp://guest:guest@127.0.0.1:5672/") == (
        "amqp://gw.body.health:s3cret@127.0.0.1:5672/"
    )
    # A cluster's other nodes borrow the first URL's credentials (the bodies' link rule).
    assert user.amqp_url("amqp://guest:guest@h1:5672/,h2:5673") == (
        "amqp://gw.body.health:s3cret@h1:5672/,h2:5673"
    )
    other_vhost = BrokerUser("health", "gw.body.health", "s3cret", "social")
    assert other_vhost.amqp_url("amqp://guest:guest@h1:5672/").endswith("@h1:5672/social")


def test_the_file_round_trips_owner_only_and_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "broker-users.json"
    assert read_users(path) == {}
    users = {"health": BrokerUser("health", "gw.body.health", "a"), "housing": BrokerUser(
        "housing", "gw.body.housing", "b")}  # fmt: skip
    write_users(path, users)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read_users(path) == users
    assert json.loads(path.read_text())["health"] == {
        "user": "gw.body.health", "password": "a", "vhost": "/"
    }  # fmt: skip
    assert users_for(path, ["housing"]) == {"housing": users["housing"]}
    with pytest.raises(ValueError, match="no broker user for education"):
        users_for(path, ["health", "education"])


def test_the_password_hash_is_rabbitmqs_salted_sha256() -> None:
    stored = base64.b64decode(password_hash("s3cret"))
    salt, digest = stored[:4], stored[4:]
    assert digest == hashlib.sha256(salt + b"s3cret").digest()
    assert password_hash("s3cret") != password_hash("s3cret")  # a new salt each time


def test_the_definitions_carry_hashes_and_least_privilege_only() -> None:
    users = [BrokerUser("health", "gw.body.health", "s3cret")]
    document = definitions("gw", users)
    assert "s3cret" not in json.dumps(document)
    (user,) = document["users"]
    assert user["name"] == "gw.body.health" and user["tags"] == []
    assert document["permissions"] == [
        {
            "user": "gw.body.health",
            "vhost": "/",
            "configure": "^$",
            "write": "^gw\\.status$",
            "read": "^gw\\.agency\\.health$",
        }
    ]
