"""Inference jobs on a snapshot (`python -m inference` run by a worker of the `llm` queue).
`rules`: kinds, checked parameters, exit codes, when a job may resume; `services`: start,
resume, stop and the worker's claim; `runner`: the task's body; `selectors`: progress, files."""
