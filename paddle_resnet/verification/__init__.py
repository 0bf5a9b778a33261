"""Structural verification: a model's fingerprint (``fingerprint``), the golden file of recorded values
(``golden``), and the comparison of the two (``verify``). See ``docs/verification.md``.

``fingerprint`` the function is ``paddle_resnet.fingerprint``: not re-exported here, where it would hide its module.
"""

from .golden import GoldenFileError, default_golden_path, load_golden, write_golden
from .verify import VerifyResult, verify_model

__all__ = ["GoldenFileError", "VerifyResult", "default_golden_path", "load_golden", "verify_model", "write_golden"]
