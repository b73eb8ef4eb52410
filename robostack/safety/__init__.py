"""Safety: the monitor every command passes through, its configuration and its events."""

from robostack.safety.config import SafetyConfig
from robostack.safety.events import Reaction, SafetyEvent
from robostack.safety.monitor import Mode, SafetyMonitor

__all__ = ["Mode", "Reaction", "SafetyConfig", "SafetyEvent", "SafetyMonitor"]
