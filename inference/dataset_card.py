"""The dataset card (``README.md``) written beside each generated dataset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.engine import COMPLETE, JobResult, read_records
from inference.targets import Snapshot, support_phrase, write_text_atomic

_FORMATS = {
    "sft": (
        "OpenAI chat fine-tuning format (also read by TRL's `SFTTrainer`): "
        '`{"messages": [{"role": "user", …}, {"role": "assistant", …}]}`. The assistant '
        "answer was written under the guidance of the context's winning value."
    ),
    "dpo": (
        "TRL conversational preference format: `prompt` (the user message), `chosen` and "
        "`rejected` (one assistant message each). For a kept edge A → B of the context (B "
        "judged wiser than A), `chosen` was guided by B and `rejected` by A."
    ),
    "kto": (
        "TRL unpaired preference format: `prompt`, `completion` (one assistant message) and "
        "`label`. `true`: guided by the context's winning value; `false`: guided by a value "
        "the winner directly beat (the less-wise side of a kept edge into the winner)."
    ),
}


def write_dataset_card(
    snapshot: Snapshot,
    kind: str,
    out_dir: Path,
    *,
    result: JobResult,
    generation: Mapping[str, Any],
    scenarios_source: Mapping[str, Any],
) -> Path:
    records = list(read_records(out_dir / f"{kind}.jsonl"))
    title = snapshot.study["title"]
    sections = [
        _front_matter(kind, title),
        f'# {kind.upper()} examples from the moral graph of "{title}"\n\n'
        f"Status: {_status(result)}. {len(records)} examples in `{kind}.jsonl`.\n",
        _source(snapshot, scenarios_source),
        _format(kind),
        f"## Counts per context\n\n{_counts_table(snapshot, kind, records)}\n",
        _generation(generation, result),
        _licence(generation, title),
    ]
    path = out_dir / "README.md"
    write_text_atomic(path, "\n".join(sections))
    return path


def _status(result: JobResult) -> str:
    if result.status == COMPLETE:
        return "complete"
    return (
        f"**not complete** ({result.status}: {result.done} of {result.planned} examples; "
        "rerun the same command to continue)"
    )


def _front_matter(kind: str, title: str) -> str:
    return f"""---
pretty_name: "{kind.upper()} data from the moral graph of {title}"
license: other
tags: [moral-graph, alignment, {kind}]
configs:
  - config_name: default
    data_files: {kind}.jsonl
---
"""


def _source(snapshot: Snapshot, scenarios_source: Mapping[str, Any]) -> str:
    document, study = snapshot.document, snapshot.study
    stats = document["stats"]
    return f"""## Source

- Snapshot content hash: `{snapshot.content_hash}` (snapshot id `{snapshot.snapshot_id}`,
  created {document["created_at"]}, scoring `{document["scoring_version"]}`,
  {document["parameters"]["mode"]} mode)
- Study: `{study["slug"]}`, {stats["participants"]} participants, {stats["votes"]} votes in scope
- Scenarios: `{scenarios_source.get("file", "?")}` (sha256 `{scenarios_source.get("sha256", "?")}`)
"""


def _format(kind: str) -> str:
    return f"""## Format

{_FORMATS[kind]}

Every line also has `key` (`{kind}|ctx=<context id>|scn=<scenario id>|values=<value ids>`,
unique; a rerun skips keys already present) and `provenance`: the snapshot content hash, the
context, the scenario id, the guiding value ids and their roles, the winner's support and
win probability, the vote counts of the edge that justifies the example (`edge`, `edges`),
and the generation settings. Drop the two fields for uploads that accept only the training
fields, e.g. `jq -c '{{messages}}' sft.jsonl`.

```python
import datasets
data = datasets.load_dataset("json", data_files="{kind}.jsonl", split="train")
```
"""


def _counts_table(snapshot: Snapshot, kind: str, records: Sequence[Mapping[str, Any]]) -> str:
    """Per context with a winner: scenarios and examples (and KTO's labels)."""
    per_context: Counter[str] = Counter(r["provenance"]["context"] for r in records)
    labels: Counter[tuple[str, bool]] = Counter(
        (r["provenance"]["context"], bool(r["label"])) for r in records if kind == "kto"
    )
    scenario_counts: Counter[str] = Counter(
        context
        for context, _scenario in {
            (r["provenance"]["context"], r["provenance"]["scenario_id"]) for r in records
        }
    )
    header = ["context", "winning value", "support", "scenarios", "examples"]
    if kind == "kto":
        header += ["desirable", "undesirable"]
    rows = []
    for winner in snapshot.winners:
        row = [
            winner.context,
            f"{snapshot.values[winner.value_id].title} (#{winner.value_id})",
            support_phrase(winner),
            str(scenario_counts[winner.context]),
            str(per_context[winner.context]),
        ]
        if kind == "kto":
            row += [str(labels[(winner.context, True)]), str(labels[(winner.context, False)])]
        rows.append(row)
    return _markdown_table(header, rows)


def _generation(generation: Mapping[str, Any], result: JobResult) -> str:
    return f"""## Generation

- Model: `{generation["model"]}`, temperature {generation["temperature"]}, at most
  {generation["max_tokens"]} tokens per answer
- Prompt: `{generation["prompt"]}` (sha256 `{generation["prompt_sha256"]}`), as the system
  message, with the scenario as the user message; the guidance is not in the examples
- Tokens used by the last run: {result.tokens_used:,}
"""


def _licence(generation: Mapping[str, Any], title: str) -> str:
    return f"""## Licence

No licence is granted by this card. The answers were written by `{generation["model"]}` and
are subject to that model's licence and terms of use; the values and judgements come from
the participants of "{title}", under the terms of that study's consent and data
release. Check both before training on or sharing this data, and state a licence when you
publish it.
"""


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])
