"""`[[tool.claimcheck.services]]`: services to probe and event streams to listen to."""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from claimcheck.collectors.config_model import ConfigError, ServiceConfig
from claimcheck.collectors.config_reader import MAX_DURATION, Reader
from claimcheck.collectors.secrets import (
    basic_credentials,
    looks_secret_parameter,
    mask_url_credentials,
)

SERVICE_KEYS = {
    "name", "url", "expect_status", "max_latency_ms", "body_contains", "expect_json",
    "interval_s", "timeout_s", "headers", "subprotocols", "send", "expect_events", "event_key",
    "within_s", "stream", "critical", "process",
}


def parse_services(table: Mapping[str, Any], reader: Reader) -> tuple[ServiceConfig, ...]:
    if "services" not in table:
        return ()
    key = reader.key("services")
    value = table["services"]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise reader.fail(key, "an array of tables ([[tool.claimcheck.services]])", value)
    services: list[ServiceConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        reader.check_keys(item, SERVICE_KEYS, item_key)
        for required in ("name", "url"):
            if required not in item:
                raise reader.fail(f"{item_key}.{required}", f"a service {required}", show=False)
        name = reader.string(item, "name", item_key)
        if name in seen:
            raise ConfigError(
                f"{reader.source}: {item_key}.name: service name {name!r} is used twice; "
                "expected unique names"
            )
        seen.add(name)
        url = reader.string(item, "url", item_key)
        kind, display_url, url_secrets = _classify_url(url, reader, f"{item_key}.url")
        reader.secrets.extend(url_secrets)
        headers = _headers(item, reader, item_key)
        services.append(
            ServiceConfig(
                name=name,
                url=url,
                kind=kind,
                display_url=display_url,
                expect_status=_expect_status(item, reader, item_key),
                max_latency_ms=reader.number(item, "max_latency_ms", item_key, None,
                                             maximum=MAX_DURATION * 1000),
                body_contains=reader.optional_string(item, "body_contains", item_key),
                expect_json=_expect_json(item, reader, item_key),
                interval_s=reader.number(item, "interval_s", item_key, 5.0) or 5.0,
                timeout_s=reader.number(item, "timeout_s", item_key, 3.0) or 3.0,
                headers=headers,
                subprotocols=(reader.strings(item, "subprotocols", item_key)
                              if "subprotocols" in item else ()),
                send=reader.optional_string(item, "send", item_key),
                expect_events=(reader.strings(item, "expect_events", item_key)
                               if "expect_events" in item else ()),
                event_key=reader.optional_string(item, "event_key", item_key) or "type",
                within_s=reader.number(item, "within_s", item_key, 10.0) or 10.0,
                stream=reader.boolean(item, "stream", item_key, False),
                critical=reader.boolean(item, "critical", item_key, True),
                process=reader.optional_string(item, "process", item_key),
            )
        )
        if kind != "websocket":
            for ws_only in ("subprotocols", "send", "expect_events", "stream"):
                if ws_only in item:
                    raise ConfigError(
                        f"{reader.source}: {item_key}.{ws_only}: only applies to ws:// or "
                        f"wss:// services; expected it to be removed for {display_url}"
                    )
    return tuple(services)


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _headers(item: Mapping[str, Any], reader: Reader, key: str) -> dict[str, str]:
    """Handshake headers: every value is a secret; names and values an HTTP request can carry."""
    headers = reader.string_table(item, "headers", key, secret=True)
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigError(f"{reader.source}: {key}.headers: header name {name!r}: expected "
                              "letters, digits and - (an HTTP header name)")
        if "\r" in value or "\n" in value:
            raise ConfigError(f"{reader.source}: {key}.headers.{name}: expected a value on one "
                              "line (no CR or LF)")
    return headers


def _classify_url(url: str, reader: Reader, key: str) -> tuple[str, str, list[str]]:
    """(kind, the URL to display, the secrets it carries): a URL's password (and the Basic
    header an HTTP client derives from it), a lone user name (usually a token), and the values
    of query parameters named like secrets (`?token=...`, `?api_key=...`, `?sig=...`)."""
    shown = _loose_mask(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise reader.fail(key, "a URL such as http://127.0.0.1:8080/health", shown) from None
    kinds = {"http": "http", "https": "http", "ws": "websocket", "wss": "websocket", "tcp": "tcp"}
    if parts.scheme not in kinds or not parts.hostname:
        raise reader.fail(key, "an http(s)://, ws(s):// or tcp://host:port URL", shown)
    if any(c.isspace() for c in url):
        raise reader.fail(key, "a URL without spaces or line breaks", shown)
    if parts.scheme == "tcp" and port is None:
        raise reader.fail(key, "a port in the tcp:// URL (tcp://host:port)", shown)
    secrets: list[str] = []
    display = url
    if parts.username or parts.password:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host + (f":{port}" if port is not None else "")
        display = parts._replace(netloc=f"***@{netloc}").geturl()
        user, password = parts.username or "", parts.password
        if password:
            secrets += [password, unquote(password), *basic_credentials(user, password)]
        else:
            secrets += [user, unquote(user)]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and looks_secret_parameter(name):
            secrets.append(value)
    for raw in parts.query.split("&"):
        name, _, value = raw.partition("=")
        if value and looks_secret_parameter(unquote(name)):
            secrets.append(value)
    return kinds[parts.scheme], mask_url_credentials(display), secrets


def _loose_mask(url: str) -> str:
    """A URL fit for an error message even when it does not parse: whatever sits between `://`
    and the last `@` is masked, and secret query values too."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        rest = "***" + rest[rest.rindex("@"):]
    return mask_url_credentials(scheme + sep + rest)


def _expect_status(item: Mapping[str, Any], reader: Reader, key: str) -> tuple[int, ...] | None:
    if "expect_status" not in item:
        return None
    value = item["expect_status"]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599
                             for v in values):
        raise reader.fail(f"{key}.expect_status", "an HTTP status (100-599) or a list of them",
                          value)
    return tuple(values)


def _expect_json(item: Mapping[str, Any], reader: Reader, key: str) -> dict[str, Any]:
    if "expect_json" not in item:
        return {}
    value = item["expect_json"]
    if not isinstance(value, dict):
        raise reader.fail(f"{key}.expect_json", 'a table such as { status = "ok" }', value)
    return dict(value)
