"""``python -m deskbridge``."""

from deskbridge.cli import main

if __name__ == "__main__":  # not when a child process (the DB-mode writer) imports this module
    main()
