"""The researcher pages (staff only, under /research/). `snapshot_views` and `job_views` are the
thin HTTP adapters; `lookups` turns a URL's parts into rows or a 404; `forms` parses what is
posted; `presenters`, `job_presenters` and `svg` shape what is shown."""
