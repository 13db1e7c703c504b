"""ebdemo: an EventBridge topology from one YAML file, on AWS or on an embedded emulator."""

__version__ = "0.1.0"
