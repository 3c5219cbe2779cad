"""The bulk generation engine: many non-streamed requests to an OpenAI-compatible server.

A job is a list of work items, each with a deterministic key, and an async ``produce``
function that turns one item into one JSON record through the gateway. ``run_job``
(``jobs``):

- runs a fixed pool of ``concurrency`` workers (``driving``; the number of requests in flight
  is bounded by it; vLLM batches whatever is in flight);
- leaves retries to the gateway (429/5xx/connection errors/timeouts with backoff; other 4xx
  at once), so an item that still fails is recorded in the manifest and left for a rerun;
- keeps its state beside the output (``checkpoints``): ``<name>.jsonl`` (append-only, one
  record per line, each line one ``write`` on an ``O_APPEND`` descriptor, fsync'd at
  checkpoints) and ``manifest.json`` (replaced atomically). On a restart the keys already in
  the JSONL are skipped and a torn last line (a crash mid-write) is cut off;
- holds an exclusive lock on the output folder, so two runs cannot interleave;
- lets ``produce`` decide that an item yields no record (``Dropped``: a pair that failed a
  quality check), kept with its reason in ``<name>.dropped.jsonl`` and counted as done;
- with ``ordered``, rewrites the files at the end in the order of the items, so the same
  work gives the same bytes whatever order the workers finished in;
- stops cleanly at a token budget: no item starts once the tokens used plus those in flight
  would pass it (``metering`` charges each request's tokens to its item); what finished is
  kept and a rerun continues;
- shows a tqdm progress bar on stderr.

``bulk_gateway`` builds the gateway such a job talks through.
"""

from inference.engine.bulk_gateway import (
    MeteredGateway,
    build_bulk_gateway,
    complete_text,
    prompt_tokens_estimate,
)
from inference.engine.checkpoints import MANIFEST, JobError, read_keys, read_records
from inference.engine.jobs import run_job
from inference.engine.outcomes import (
    ABORTED,
    BUDGET_EXHAUSTED,
    COMPLETE,
    DID_NOT_FINISH,
    INCOMPLETE,
    INTERRUPTED,
    RUNNING,
    SHORT,
    Dropped,
    JobResult,
)

__all__ = [
    "ABORTED",
    "BUDGET_EXHAUSTED",
    "COMPLETE",
    "DID_NOT_FINISH",
    "INCOMPLETE",
    "INTERRUPTED",
    "MANIFEST",
    "RUNNING",
    "SHORT",
    "Dropped",
    "JobError",
    "JobResult",
    "MeteredGateway",
    "build_bulk_gateway",
    "complete_text",
    "prompt_tokens_estimate",
    "read_keys",
    "read_records",
    "run_job",
]
