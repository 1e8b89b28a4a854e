"""The webhook machinery of one server process: the inbox writer, the processor and the outbox worker."""

from __future__ import annotations

from dataclasses import dataclass

from deskbridge.db import Database
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks import enqueue, outbox
from deskbridge.webhooks.backoff import DELIVERY, PROCESSING, Backoff
from deskbridge.webhooks.gate import GatedDesk, WriteGate
from deskbridge.webhooks.ingest import Ingest
from deskbridge.webhooks.processor import Processor
from deskbridge.webhooks.sources import SourceCache
from deskbridge.webhooks.worker import ProcessorProcess

__all__ = ["WebhookOptions", "WebhookRuntime"]


@dataclass(slots=True, frozen=True)
class WebhookOptions:
    """How the webhook machinery runs; the defaults suit production.

    Attributes:
        processing: Retries of inbox events that fail, and when they are marked failed.
        delivery: Retries of outbox deliveries, and when they are given up on.
        batch_size: Inbox events processed per round at most.
        poll_seconds: The processor looks for due events at least this often.
        gather_seconds: A processor woken by new events waits up to this long for ``gather_size`` of them, so
            that a burst is applied in a few larger rounds (each round has a fixed cost).
        gather_size: Events worth a round without waiting.
        retention_days: Processed events and settled deliveries older than this are deleted; ``None`` keeps all.
        outbox_poll_seconds: The outbox worker looks for due deliveries at least this often.
        settings_ttl: Seconds an integration's loaded settings are trusted without a change committed in this
            process (changes made by other processes take effect within this time).
        ack_timeout: Seconds a webhook request waits for its event to be stored before it answers 503.
        max_waiting: Events waiting to be stored at most; more are refused with 503 at once.
        processor_process: Run the processor in a child process of the server (:mod:`.worker`), so applying
            events never holds up acknowledging them; ``False`` runs it as a thread of the server (tests of
            integrations registered in-process only; an in-memory SQLite database always does).
    """

    processing: Backoff = PROCESSING
    delivery: Backoff = DELIVERY
    batch_size: int = 200
    poll_seconds: float = 1.0
    gather_seconds: float = 0.25
    gather_size: int = 100
    retention_days: float | None = 30
    outbox_poll_seconds: float = 2.0
    settings_ttl: float = 5.0
    ack_timeout: float = 10.0
    max_waiting: int = 20_000
    processor_process: bool = True


class WebhookRuntime:
    """Starts and stops the background parts; the notify endpoint stores through :attr:`ingest`."""

    def __init__(self, db: Database, *, box: SecretBox, options: WebhookOptions | None = None) -> None:
        """Build the parts (nothing runs until :meth:`start`)."""
        options = options or WebhookOptions()
        self.options = options
        self.gate = WriteGate(db)
        gate = self.gate
        self.sources = SourceCache(
            db, box=box, desk=lambda: GatedDesk(db, box=box, gate=gate), ttl=options.settings_ttl
        )
        in_memory = db.is_sqlite and (db.url.database or ":memory:") == ":memory:"
        self.processor: Processor | ProcessorProcess
        if options.processor_process and not in_memory:
            url = db.url.render_as_string(hide_password=False)
            self.processor = ProcessorProcess(url, key=box.export_key(), options=options)
        else:
            self.processor = Processor.with_options(db, self.sources, gate=gate, options=options)
        self.ingest = Ingest(
            db,
            gate=gate,
            on_stored=self.processor.wake,
            max_waiting=options.max_waiting,
            timeout=options.ack_timeout,
        )
        self.outbox = outbox.OutboxWorker(
            db, self.sources, gate=gate, backoff=options.delivery, poll=options.outbox_poll_seconds
        )
        enqueue.install()

    def start(self) -> None:
        """Start the inbox writer, the processor and the outbox worker."""
        self.ingest.start()
        self.processor.start()
        self.outbox.start()

    def stop(self) -> None:
        """Store what is queued, finish the rounds in progress, and stop."""
        self.ingest.stop()
        self.processor.stop()
        self.outbox.stop()
        self.sources.close()
        self.gate.close()
