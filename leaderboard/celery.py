"""One Celery app, two queues: `generation` (GPU workers) and `execution` (CPU workers)."""

import fcntl
import os
import uuid
from time import monotonic

from celery import Celery
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")

# The file-system broker cannot wake a worker: an idle worker looks at its folder again after this
# many seconds, and with one task in flight at a time (acks late, prefetch 1) it waits that long
# between tasks too. Kombu's 1 s made a 164-chunk generation run last minutes whatever its size.
# At 3 ms a task is handed out within about 2x of Redis, for an idle worker at about 4% of a core
# against 2% at 10 ms (bench/bench_broker.py measures both against Redis in one run).
FILESYSTEM_POLLING_INTERVAL = 0.003


class FileSystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """A message file appears whole: written under another name, then renamed into the queue.

        Kombu writes it in place, so a worker listing the folder in between takes an empty file,
        fails to decode it and the message is lost; polling often made that frequent."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            with open(path + ".part", "wb") as handle:  # ".part": not a queue's file name
                handle.write(dumps(payload).encode())
            os.replace(path + ".part", path)
        except OSError as error:
            raise ChannelError(f"Cannot add file {path!r} to directory") from error

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        """The route reaches the disk before this process records the binding: threads of one
        process share kombu's record, and a thread that finds a queue bound there skips binding and
        publishes at once, so a route still on its way to the disk would lose that message."""
        name = exchange or "amq.direct"
        if not self.state.has_binding(queue, name, routing_key):
            self._queue_bind(name, *self.typeof(name).prepare_bind(queue, name, routing_key, arguments))
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        """An exchange's table appears whole too: kombu creates the file empty and only then locks
        it, so a connection publishing meanwhile (a worker and the site starting together) reads
        an empty table and fails to decode it. Binders take turns on a lock file of their own."""
        path = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with open(path.with_name(path.name + ".lock"), "a") as turn:
                fcntl.flock(turn.fileno(), fcntl.LOCK_EX)
                table = (
                    [filesystem.exchange_queue_t(*row) for row in loads(path.read_text())]
                    if path.exists()
                    else []
                )
                if entry in table:
                    return
                with open(f"{path}.part", "w") as handle:
                    handle.write(dumps([entry, *table]))
                os.replace(f"{path}.part", path)
        except OSError as error:
            raise ChannelError(f"Cannot open {path}") from error


class FileSystemTransport(filesystem.Transport):
    Channel = FileSystemChannel


app = Celery("leaderboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def embedded_broker(sender: Celery, source, **_) -> None:
    """The file-system broker (the embedded default): whole message files, polled often."""
    if str(source.broker_url).startswith("filesystem://"):
        source.broker_transport = f"{__name__}:{FileSystemTransport.__name__}"
        source.broker_transport_options = {
            **source.broker_transport_options,
            "polling_interval": FILESYSTEM_POLLING_INTERVAL,
        }
