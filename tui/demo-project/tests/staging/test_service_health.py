"""Staging checks against the running services (URLs come from the phase's env)."""

import json
import os
import time
import urllib.error
import urllib.request

import pytest


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.auth
def test_auth_service_is_healthy():
    status, body = get(os.environ["AUTH_URL"])
    print(f"auth answered {status}: {body}")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_backend_is_reachable():
    url = os.environ["BACKEND_URL"]
    time.sleep(0.1)
    try:
        status, _ = get(url)
    except urllib.error.URLError as exc:
        pytest.fail(f"backend at {url} is unreachable: {exc.reason}")
    assert status == 200


@pytest.mark.auth
def test_backend_finds_auth_where_it_expects_it():
    url = os.environ["BACKEND_AUTH_URL"]
    try:
        status, _ = get(url)
    except urllib.error.URLError as exc:
        pytest.fail(f"the backend's auth URL {url} is unreachable: {exc.reason}")
    assert status == 200
