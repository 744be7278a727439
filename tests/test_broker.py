"""The embedded file-system broker: polled often, and a message file is never seen half written."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from kombu import Connection

from leaderboard import celery as site_celery


def test_the_sites_app_on_the_filesystem_broker_uses_the_whole_file_transport_polled_often(tmp_path):
    """As `make run` configures it (a process of its own: one process's app has one broker)."""
    probe = (
        "import django; django.setup()\n"
        "from leaderboard.celery import app\n"
        "with app.connection_for_write() as connection:\n"
        "    transport, channel = connection.transport, connection.default_channel\n"
        "    print(type(transport).__name__, transport.polling_interval, type(channel).__name__)\n"
    )
    env = {**os.environ, "CELERY_BROKER_URL": "filesystem://", "VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    interval = site_celery.FILESYSTEM_POLLING_INTERVAL
    assert done.stdout.split() == ["FileSystemTransport", str(interval), "FileSystemChannel"]
    assert 0 < interval < 0.05


@pytest.fixture
def folders(tmp_path):
    queue = tmp_path / "queue"
    queue.mkdir()
    (tmp_path / "control").mkdir()
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(tmp_path / "control"),
        "polling_interval": 0,
    }


def test_a_reader_polling_without_pause_sees_every_message_whole(folders):
    """Large messages written while another connection takes them as fast as it can: kombu's own
    transport hands out files still being written (an empty body, a decode error, a lost message).
    Both connections bind the queue at once, as a worker and the site starting together do."""
    count, size = 150, 400_000
    received: list[dict] = []
    errors: list[BaseException] = []
    writing = threading.Event()

    def read() -> None:
        with Connection(
            "filesystem://", transport=site_celery.FileSystemTransport, transport_options=folders
        ) as c:
            queue = c.SimpleQueue("probe")
            writing.wait(10)
            try:
                while len(received) < count:
                    message = queue.get(timeout=30)
                    received.append(message.payload)
                    message.ack()
            except BaseException as error:  # noqa: BLE001 - handed to the test
                errors.append(error)
            queue.close()

    reader = threading.Thread(target=read)
    reader.start()
    with Connection(
        "filesystem://", transport=site_celery.FileSystemTransport, transport_options=folders
    ) as c:
        queue = c.SimpleQueue("probe")
        writing.set()
        for index in range(count):
            queue.put({"index": index, "body": "x" * size})
        queue.close()
    reader.join(60)
    assert errors == []
    assert sorted(message["index"] for message in received) == list(range(count))
    assert all(len(message["body"]) == size for message in received)
    assert not list(Path(folders["data_folder_in"]).glob("*.part"))


def test_queues_bound_at_once_to_a_new_exchange_all_stay_in_its_table(folders):
    """A worker and the site start together and both bind: kombu's binder creates the exchange's
    table empty before locking it, so a reader decodes nothing and a second binder overwrites the
    first (a lost route, a corrupt table). Each round binds six queues at once to a new exchange
    while every binder reads the table back."""
    errors: list[BaseException] = []

    def bind(exchange: str, queue: str, start: threading.Event) -> None:
        try:
            with Connection(
                "filesystem://", transport=site_celery.FileSystemTransport, transport_options=folders
            ) as c:
                channel = c.default_channel
                start.wait(10)
                channel.exchange_declare(exchange, "direct")
                channel.queue_declare(queue)
                channel.queue_bind(queue, exchange, queue)
                channel.get_table(exchange)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            errors.append(error)

    queues = {f"q{index}" for index in range(6)}
    for round_ in range(40):
        exchange, start = f"round{round_}", threading.Event()
        binders = [threading.Thread(target=bind, args=(exchange, queue, start)) for queue in sorted(queues)]
        for binder in binders:
            binder.start()
        start.set()
        for binder in binders:
            binder.join(30)
        assert errors == []
        with Connection(
            "filesystem://", transport=site_celery.FileSystemTransport, transport_options=folders
        ) as c:
            assert {row.queue for row in c.default_channel.get_table(exchange)} == queues


def test_a_route_is_on_disk_before_any_thread_of_the_process_finds_the_queue_bound(folders):
    """Threads of one process share kombu's record of bindings, and one that finds a queue bound
    there publishes at once without binding: kombu recorded the binding first and wrote the route
    after, so such a message went nowhere. Here the route is written while the record is empty."""
    recorded_when_written: list[bool] = []

    class Recording(site_celery.FileSystemChannel):
        def _queue_bind(self, exchange, routing_key, pattern, queue):
            recorded_when_written.append(self.state.has_binding(queue, exchange, routing_key))
            super()._queue_bind(exchange, routing_key, pattern, queue)

    class Transport(site_celery.FileSystemTransport):
        Channel = Recording

    with Connection("filesystem://", transport=Transport, transport_options=folders) as c:
        channel = c.default_channel
        channel.exchange_declare("ordered", "direct")
        channel.queue_declare("first")
        channel.queue_bind("first", "ordered", "first")
        assert {row.queue for row in channel.get_table("ordered")} == {"first"}
    assert recorded_when_written[0] is False
