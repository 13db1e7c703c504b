"""The emulator's HTTP connections: kept alive, one response per request, bodies framed right."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e

SIGNED_SQS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AmazonSQS.ListQueues",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


def _connection(emulator) -> http.client.HTTPConnection:
    url = urlsplit(emulator.endpoint)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=10)


def test_requests_share_one_connection(emulator):
    conn = _connection(emulator)
    conn.request("POST", "/", body=b"{}", headers=SIGNED_SQS)
    first = conn.getresponse()
    assert first.status == 200
    first.read()
    assert first.getheader("Connection") != "close"
    sock = conn.sock
    for _ in range(3):
        conn.request("POST", "/", body=b"{}", headers=SIGNED_SQS)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    assert conn.sock is sock  # never reconnected
    conn.close()


def test_a_chunked_body_and_the_request_after_it(emulator):
    conn = _connection(emulator)
    body = json.dumps({"QueueName": "http-chunked"}).encode()
    headers = {**SIGNED_SQS, "X-Amz-Target": "AmazonSQS.CreateQueue"}
    conn.request("POST", "/", body=iter([body[:7], body[7:]]), headers=headers,
                 encode_chunked=True)  # fmt: skip
    created = conn.getresponse()
    assert created.status == 200, created.read()
    assert json.loads(created.read())["QueueUrl"].endswith("/http-chunked")
    conn.request("POST", "/", body=b"{}", headers=SIGNED_SQS)
    listed = json.loads(conn.getresponse().read())
    assert any(url.endswith("/http-chunked") for url in listed["QueueUrls"])
    conn.close()


def test_connection_close_is_honoured_and_head_has_no_body(emulator):
    conn = _connection(emulator)
    conn.request("POST", "/", body=b"{}", headers={**SIGNED_SQS, "Connection": "close"})
    response = conn.getresponse()
    response.read()
    assert response.getheader("Connection") == "close"

    url = urlsplit(emulator.endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=10) as raw:
        raw.sendall(b"HEAD /_ebdemo/health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.sendall(b"GET /_ebdemo/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length:" in head
    assert rest.startswith(b"HTTP/1.1 200")  # the HEAD answer carried no body
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["pid"] > 0


def test_expect_100_continue_gets_one_interim_answer(emulator):
    url = urlsplit(emulator.endpoint)
    body = b"{}"
    head = (
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in SIGNED_SQS.items())
        + "\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as raw:
        raw.sendall(head.encode())
        interim = raw.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        raw.sendall(body)
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and data.count(b"100 Continue") == 0
