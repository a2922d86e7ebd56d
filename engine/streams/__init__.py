"""Stream stores beyond memory (SQLite for devhost, Azure Table storage for Azure) and the choice among them
from the app's settings. The seam itself is ``engine.core.streams``."""
