"""The course's lab Worker (a real Python Worker project in this folder) and ``connect()``."""
from pathlib import Path

#: The Worker project folder: wrangler.toml + src/.
LAB_DIR = Path(__file__).resolve().parent
#: The mesh lab Worker (Days 3-6, Project 2): course/lab/mesh (wrangler.toml + src/).
MESH_DIR = LAB_DIR / "mesh"
