"""The dataset card (``README.md``) written beside each generated dataset.

Hugging Face metadata (language, licence, task category, size category, the data file) in
the front matter; then the source, the format with its weights, counts per context, what the
uncertainty rules left out and why, what the pair checks dropped, the generation and the
licence. Every path it prints is relative to the dataset's folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.engine import COMPLETE, JobResult, read_records
from inference.targets import Snapshot, support_phrase, write_text_atomic

LICENCE_NAME = "moral-graph-study-terms"
_SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
)
_TRAINING_FIELDS = {
    "sft": "{messages}",
    "dpo": "{prompt, chosen, rejected}",
    "kto": "{prompt, completion, label}",
}
_WEIGHTS = {
    "sft": "the winner's win probability (the share of bootstrap resamples it won; 1.0 when "
    "the snapshot has none)",
    "dpo": "the lower bound of the edge's 95% credible interval for the share of decisive "
    "voters who judged the wiser value wiser",
    "kto": "desirable: the winner's win probability (1.0 when unknown); undesirable: the "
    "lower bound of the interval of the edge on which the value lost to the winner",
}
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
        "that clearly lost to the winner here: the less-wise side of a kept edge into the "
        "winner whose interval lies wholly above one half (lower bound > 0.5)."
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
    selection: Mapping[str, Any] | None = None,
) -> Path:
    records = list(read_records(out_dir / f"{kind}.jsonl"))
    dropped = list(read_records(out_dir / f"{kind}.dropped.jsonl"))
    title = snapshot.study["title"]
    selection = selection or {}
    sections = [
        _front_matter(kind, title, len(records), _language(snapshot)),
        f'# {kind.upper()} examples from the moral graph of "{title}"\n\n'
        f"Status: {_status(result)}. {len(records)} examples in `{kind}.jsonl`.\n",
        _source(snapshot, scenarios_source),
        _format(kind),
        f"## Counts per context\n\n{_counts_table(snapshot, kind, records, dropped)}\n",
        _left_out(kind, selection),
        _pair_quality(kind, dropped),
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


def _language(snapshot: Snapshot) -> str:
    return str(snapshot.study.get("language") or "en")


def size_category(count: int) -> str:
    """The Hugging Face size category of a dataset of ``count`` examples."""
    for bound, name in _SIZE_CATEGORIES:
        if count < bound:
            return name
    return "n>10M"


def _front_matter(kind: str, title: str, count: int, language: str) -> str:
    return f"""---
pretty_name: "{kind.upper()} data from the moral graph of {title}"
language:
  - {language}
license: other
license_name: {LICENCE_NAME}
license_link: README.md
task_categories:
  - text-generation
size_categories:
  - {size_category(count)}
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

Every line also has `weight`, in [0, 1]: {_WEIGHTS[kind]}. Use it to weight the example's
loss, or to filter (`jq -c 'select(.weight >= 0.8)' {kind}.jsonl`).

And `key` (`{kind}|ctx=<context id>|scn=<scenario id>|values=<value ids>`, unique; a rerun
skips keys already present) and `provenance`: the snapshot content hash, the context and its
question ids, the scenario id, the guiding value ids and their roles, the winner's support,
win probability and tied values, the vote counts and interval of the edge that justifies the
example (`edge`, `edges`), the pair check's verdict (`pair_quality`) and the generation
settings. Keep only the training fields for uploads that accept nothing else:
`jq -c '{_TRAINING_FIELDS[kind]}' {kind}.jsonl`.

```python
import datasets
data = datasets.load_dataset("json", data_files="{kind}.jsonl", split="train")
```
"""


def _counts_table(
    snapshot: Snapshot,
    kind: str,
    records: Sequence[Mapping[str, Any]],
    dropped: Sequence[Mapping[str, Any]],
) -> str:
    """Per context with a winner: scenarios and examples (and KTO's labels, the dropped)."""
    per_context: Counter[str] = Counter(r["provenance"]["context"] for r in records)
    dropped_in: Counter[str] = Counter(str(r.get("context")) for r in dropped)
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
    if kind != "sft":
        header += ["dropped pairs"]
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
        if kind != "sft":
            row += [str(dropped_in[winner.context])]
        rows.append(row)
    return _markdown_table(header, rows)


def _left_out(kind: str, selection: Mapping[str, Any]) -> str:
    thresholds = selection.get("thresholds", {})
    lines = ["## Left out for uncertainty", ""]
    if kind == "dpo":
        lines.append(
            "DPO pairs come from edges, not winners: every kept edge of a context with a "
            f"winner whose interval's lower bound is at least "
            f"{thresholds.get('min_edge_lower_bound', 0):g} (`--min-edge-lower-bound`)."
        )
    else:
        lines.append(
            "Contexts whose winner is contested are left out: a tie, or a win probability "
            f"below {thresholds.get('min_win_probability', 0):g} (`--min-win-probability`; "
            "in most bootstrap resamples another value won)."
        )
    left = selection.get("left_out", [])
    if left:
        lines += [
            "",
            _markdown_table(
                ["context", "winning value", "win probability", "why left out"],
                [
                    [
                        str(e["context"]),
                        f"#{e['value_id']}",
                        "unknown"
                        if e["win_probability"] is None
                        else f"{e['win_probability']:.1%}",
                        str(e["explanation"]),
                    ]
                    for e in left
                ],
            ),
        ]
    elif kind != "dpo":
        lines += ["", "No context was left out."]
    for field, text in (
        ("edges_below_lower_bound", "kept edges below the lower bound, per context"),
        (
            "kto_values_not_labelled",
            "values the winner beat without a clear interval "
            "(not labelled undesirable), per context",
        ),
    ):
        counts = selection.get(field) or {}
        if counts:
            listed = ", ".join(f"{context!r}: {n}" for context, n in counts.items())
            lines += ["", f"Left out, {text}: {listed}."]
    return "\n".join(lines) + "\n"


def _pair_quality(kind: str, dropped: Sequence[Mapping[str, Any]]) -> str:
    if kind == "sft":
        return ""
    counts = Counter(str(r.get("reason")) for r in dropped)
    listed = ", ".join(f"{reason} {counts[reason]}" for reason in sorted(counts))
    tally = (
        f"{listed} ({sum(counts.values())} in all; listed in `{kind}.dropped.jsonl`)"
        if counts
        else "none"
    )
    pairs = "pair" if kind == "dpo" else "undesirable answer (with the winner's answer)"
    return f"""## Pair quality

Each {pairs} is checked before it is written; it is dropped when the two answers are the
same text once case, punctuation and spacing are set aside (`identical`), or when an offline
judge (overlap with each value's distinctive policy words) finds the answer under the wiser
value attending less (`inverted`) or no more (`indistinct`) to the wiser value's policies
than the other answer. Dropped: {tally}.
"""


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

Licence name: `{LICENCE_NAME}` (`license: other`). No licence is granted by this card. The answers were written by `{generation["model"]}` and
are subject to that model's licence and terms of use; the values and judgements come from
the participants of "{title}", under the terms of that study's consent and data
release. Check both before training on or sharing this data, and state a licence when you
publish it.
"""


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])
