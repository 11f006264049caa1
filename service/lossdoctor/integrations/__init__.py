"""Training callbacks that diagnose a run while it trains, and can stop it on an error finding.

    from lossdoctor.integrations.keras import LossDoctorCallback      # keras.callbacks.Callback
    from lossdoctor.integrations.lightning import LossDoctorCallback  # lightning.pytorch.Callback

This package imports no framework (and not the engine): import the submodule of the framework you use.
Install them with the `integrations` extra.
"""

from lossdoctor.integrations._core import SEVERITY_RANK, LossDoctorMonitor, ServiceError, Severity, json_value

__all__ = ["SEVERITY_RANK", "LossDoctorMonitor", "ServiceError", "Severity", "json_value"]
