"""serve answers at once however Alertmanager connects: on a connection it keeps alive, and in a burst of new ones.
bench/_serve_load.py holds it to 100 deliveries a second."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from alertmanager_webhook import payload
from serve_support import AUTH
from serve_support import alert

from rollcheck.serve import ReceiverServer

StartReceiver = Callable[..., ReceiverServer]


def test_answers_on_a_kept_alive_connection_are_not_held_back_by_delayed_acks(start_receiver: StartReceiver) -> None:
    # A resolved alert is answered without an event, so only the HTTP path is timed. With Nagle's algorithm on
    # the server's socket, the body of every answer after the first waited for the client's delayed ACK of the
    # headers: 40 ms each on Linux, where the request itself takes about 1 ms.
    server = start_receiver()
    body = payload(alert({"namespace": "shop", "deployment": "shop"}, status="resolved"))
    seconds: list[float] = []
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=5) as http:
        for _ in range(21):
            started = time.perf_counter()
            response = http.post("/alertmanager", json=body)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            # Kept alive: the delayed ACK only bites on a connection that carries more than one answer.
            assert (response.http_version, response.headers.get("connection")) == ("HTTP/1.1", None)
    assert statistics.median(seconds[1:]) < 0.02, [f"{s * 1000:.1f} ms" for s in seconds]


def test_a_burst_of_new_connections_is_accepted_without_a_retransmission(start_receiver: StartReceiver) -> None:
    # Alertmanager opens more connections while answers are slow. With socketserver's backlog of 5, a burst
    # overflowed the accept queue, and every dropped SYN cost its caller the kernel's 1 s retransmission timeout.
    server = start_receiver()
    host, port = str(server.server_address[0]), int(server.server_address[1])
    callers = 64
    together = threading.Barrier(callers)

    def healthz() -> tuple[float, bytes]:
        together.wait(5)
        started = time.perf_counter()
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: rollcheck\r\nConnection: close\r\n\r\n")
            answer = connection.recv(64)
        return time.perf_counter() - started, answer

    with ThreadPoolExecutor(callers) as pool:
        answers = [pool.submit(healthz) for _ in range(callers)]
        results = [answer.result(10) for answer in answers]
    assert all(answer.startswith(b"HTTP/1.1 200") for _, answer in results)
    assert max(seconds for seconds, _ in results) < 0.9, sorted(round(seconds, 3) for seconds, _ in results)[-5:]
