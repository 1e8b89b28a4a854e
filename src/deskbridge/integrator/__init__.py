"""The integrator: a runner of integration syncs driven by a config file, in API mode or DB mode.

``config`` reads and writes the config file, ``connect`` opens the Desk port for a connection, ``runner`` processes
modules under leases, ``scheduler`` is the embedded scheduler, ``schedule`` renders cron/systemd/Windows entries,
``logs`` writes the daily log files, and ``cli`` is ``deskbridge integrator ...``.
"""

from deskbridge.integrator.config import IntegratorConfig, load_config, save_config
from deskbridge.integrator.runner import EntityResult, run_config

__all__ = ["EntityResult", "IntegratorConfig", "load_config", "run_config", "save_config"]
