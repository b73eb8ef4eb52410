"""Safety: the monitor every command passes through, its configuration and its events."""

from robostack.runtime.safety.config import SafetyConfig
from robostack.runtime.safety.events import Reaction, SafetyEvent
from robostack.runtime.safety.monitor import Mode, SafetyMonitor

__all__ = ["Mode", "Reaction", "SafetyConfig", "SafetyEvent", "SafetyMonitor"]
