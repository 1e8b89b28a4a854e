"""``python -m deskbridge``."""

from deskbridge.cli import main

main()
