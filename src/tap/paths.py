"""Where the checkout keeps its inputs and outputs."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "config"
FUNCTIONS_DIR = REPO / "functions"
TEMPLATES_DIR = REPO / "templates"
CACHE_DIR = REPO / ".cache"
