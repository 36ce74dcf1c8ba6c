"""The live dashboard: PySide6 + pyqtgraph widgets that pull from the Qt-free core at frame rate."""
