"""The course's lab Worker (a real Python Worker project in this folder) and ``connect()``."""
from pathlib import Path

#: The Worker project folder: wrangler.toml + src/.
LAB_DIR = Path(__file__).resolve().parent
