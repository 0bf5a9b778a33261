"""Structural verification: a model's fingerprint (``fingerprint``), golden files of recorded values
(``golden``), comparing rows and locating differences (``compare``), checking a model against a golden entry
(``verify``, ``structure`` for any model and your own golden files), model against model (``diff``), and building
a model from a name or a factory (``models``). See ``docs/verification.md``.

``fingerprint`` the function is ``paddle_resnet.fingerprint``: not re-exported here, where it would hide its module.
"""

from .compare import LayerDifference, compare_rows
from .diff import ModelDiff, diff_models
from .golden import GoldenFileError, default_golden_path, load_golden, write_golden
from .structure import assert_structure, check_structure, record_structure
from .verify import VerifyResult, verify_architectures, verify_model

__all__ = ["GoldenFileError", "LayerDifference", "ModelDiff", "VerifyResult", "assert_structure", "check_structure",
           "compare_rows", "default_golden_path", "diff_models", "load_golden", "record_structure",
           "verify_architectures", "verify_model", "write_golden"]
