"""GATEWAY_AMQP_URL: one broker or a cluster's nodes, in the order they are tried."""

from __future__ import annotations

import pytest

from gateway.broker.connection import amqp_urls, safe_url
from mocks.agencies.broker import node_urls


def test_one_url_is_one_node() -> None:
    assert amqp_urls("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]


def test_bare_hosts_borrow_credentials_vhost_and_options_of_the_first() -> None:
    urls = amqp_urls("amqp://gw:s3cret@10.0.0.1:5672/prod?heartbeat=30, 10.0.0.2:5673 ,10.0.0.3")
    assert urls == [
        "amqp://gw:s3cret@10.0.0.1:5672/prod?heartbeat=30",
        "amqp://gw:s3cret@10.0.0.2:5673/prod?heartbeat=30",
        "amqp://gw:s3cret@10.0.0.3/prod?heartbeat=30",
    ]
    # The mocks read the same notation with their own parser.
    listed = "amqp://gw:s3cret@10.0.0.1:5672/prod?heartbeat=30,10.0.0.2:5673,10.0.0.3"
    assert node_urls(listed) == urls


def test_full_urls_may_differ_per_node() -> None:
    urls = amqp_urls("amqp://a:b@h1:1/,amqps://c:d@h2:2/v")
    assert urls == ["amqp://a:b@h1:1/", "amqps://c:d@h2:2/v"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "no broker URL given"),
        ("http://h1:5672/", "is not an amqp:// or amqps:// URL"),
        ("amqp://u:p@h1:5672/,h2:port", "'h2:port' is neither a URL nor host:port"),
        ("amqp://u:p@h1:5672/,ftp://h2/", "is not an amqp:// or amqps:// URL"),
    ],
)
def test_a_bad_list_names_the_setting_and_the_entry(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match="GATEWAY_AMQP_URL") as error:
        amqp_urls(value)
    assert reason in str(error.value)


def test_messages_never_show_the_password() -> None:
    assert safe_url("amqp://gw:s3cret@10.0.0.1:5672/") == "amqp://10.0.0.1:5672/"
    with pytest.raises(ValueError) as error:
        amqp_urls("http://gw:s3cret@h1/")
    assert "s3cret" not in str(error.value)
