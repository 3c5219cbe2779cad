"""``python -m inference.fake_server --port 8100``: see ``inference.fake_server.serve``."""

from inference.fake_server.serve import main

main()
