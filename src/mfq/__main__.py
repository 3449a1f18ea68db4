"""``python -m mfq`` runs the command line."""

from mfq.cli.main import main

main()
