"""Exports of a snapshot. `formats`: the pure writers of each format (a document in);
`files`: the files `export_graph` and the download links hand out, votes.csv included."""
