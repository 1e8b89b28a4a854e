"""The spreadsheet import (entry point ``csv_import``): assets and users from `.csv` / `.xlsx` files."""

from deskbridge.integrations.csv_import.plugin import CsvImport
from deskbridge.integrations.csv_import.settings import CsvImportSettings, FileMapping

__all__ = ["CsvImport", "CsvImportSettings", "FileMapping"]
