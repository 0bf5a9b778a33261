"""Every golden value against every independent reference that has it, and our models against the golden file.

References (none of them is our own model): paddle.vision's official models built side by side (paddle.summary
parameter counts; MACs, stage shapes, layer counts and the layer rows from an eager trace where the kernels run),
torchvision's published num_params and _ops, the paper's CIFAR table, and the closed-form description in
closed_form.py (every value, the layer rows included: every layer and every operation between layers, with its
settings and inputs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import paddle
import pytest
from paddle.vision.models import resnet as vision

from references import closed_form
from helpers import constant_init, run_cli
from helpers.tiers import representatives
from references.published import (PAPER_CIFAR_PARAMS_M, PAPER_FLOPS_BILLIONS, PAPER_OPTION_C_EXTRA_PROJECTIONS,
                                   TORCHVISION_PUBLISHED, summary_params)
from paddle_resnet import BasicBlock, BottleneckBlock, count_params, create_model, list_models, verify_model
from paddle_resnet.verification.fingerprint import fingerprint, flatten_metrics
from paddle_resnet.verification.golden import GoldenFileError, default_golden_path, load_golden
from paddle_resnet.verification.models import build_model, parse_model_spec
from paddle_resnet.verification.values import first_difference, value_pass

GOLDEN_FILE = Path(__file__).parent / "golden" / "architectures.json"
GOLDEN = load_golden(GOLDEN_FILE)
ENTRIES = GOLDEN["architectures"]
OFFICIAL = sorted(vision.model_urls)


def small_input(name):
    """Parameter counts do not depend on the input size, so paddle.summary runs on a small one (fast)."""
    return (1, 3, 32, 32) if closed_form.input_size(name)[2] == 32 else (1, 3, 64, 64)


def build(name, lazy=True):
    """A table row (``resnet50``) or a row with options as ``verify --model`` spells it (``resnet34:shortcut=C``)."""
    return build_model(parse_model_spec(name), lazy=lazy)


def test_the_package_reads_this_golden_file():
    assert default_golden_path().resolve() == GOLDEN_FILE.resolve()


def test_golden_covers_every_architecture_and_names_a_source_for_every_value():
    assert sorted(ENTRIES) == sorted(list_models() + list(closed_form.VARIANTS))
    for name, entry in ENTRIES.items():
        assert set(entry["sources"]) == set(entry["values"]) | {"outputs"}, name
        assert entry["mode"] == "eval", name
        assert (entry["outputs"] is not None) == (name in OFFICIAL), f"{name}: values come from paddle.vision only"
        assert all(isinstance(s, str) and len(s) > 20 for s in entry["sources"].values()), name
        official = "paddle.vision" in entry["sources"]["params"]
        assert official == (name in OFFICIAL), f"{name}: params should come from paddle.vision iff it has {name}"


@pytest.mark.parametrize("name", representatives(closed_form.ALL))
def test_our_model_matches_golden(name):
    model = build(name)
    result = verify_model(model, name, golden=GOLDEN)
    assert result.ok, result.report()
    # Every recorded metric checked, the layer rows, and the values where the entry has them: nothing skipped.
    expected = len(flatten_metrics(ENTRIES[name]["values"])) + 1 + (name in OFFICIAL)
    assert len(result.checks) == expected and not result.skipped, [c[0] for c in result.checks]
    assert ("layers", True) in {(c[0], c[3]) for c in result.checks}
    rows = len(ENTRIES[name]["values"]["layers"])
    assert f": {rows} structure rows, " in result.report()
    if name in OFFICIAL:  # values compared, and said so
        assert ("values", True) in {(c[0], c[3]) for c in result.checks} and not result.unchecked
        assert f"{rows} structure rows, {rows} value rows (float64" in result.report()
    else:
        assert result.unchecked == ["values (the entry records none)"]
        assert "NOT checked: values" in result.report()


@pytest.mark.parametrize("name", closed_form.ALL)
def test_golden_matches_the_closed_form_description(name):
    expected = closed_form.closed_form(name)
    assert ENTRIES[name]["values"] == expected
    assert ENTRIES[name]["input_size"] == closed_form.input_size(name)


@pytest.mark.parametrize("name", representatives(OFFICIAL))
def test_golden_matches_paddle_vision_built_side_by_side(name):
    with constant_init():
        official = getattr(vision, name)()
    values = ENTRIES[name]["values"]
    assert summary_params(official, small_input(name)) == values["params"]
    traced = fingerprint(official, ENTRIES[name]["input_size"], mode="eager")
    assert traced == values


def official_values(name):
    """The value digests of paddle.vision's model built side by side: the check of the committed file against it
    runs on Paddle 3.3 and 2.6 in CI, so a golden recorded on one Paddle is checked on the other."""
    with constant_init():  # the value pass puts its own seeded parameters in place of these
        official = getattr(vision, name)()
    entry = ENTRIES[name]["outputs"]
    measured = value_pass(official, entry["input_size"], "eval", entry["dtype"])
    return entry, measured


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n == "resnet18" else pytest.mark.slow)
                                  for n in OFFICIAL])
def test_golden_values_match_paddle_vision_built_side_by_side(name):
    entry, measured = official_values(name)
    assert [row_id for row_id, _ in entry["rows"]] == list(measured.digests)
    assert first_difference(entry, measured) is None
    assert not measured.random_rows and all(value is not None for value in measured.digests.values())


@pytest.mark.parametrize("name", sorted(TORCHVISION_PUBLISHED))
def test_golden_matches_torchvision_published_metadata(name):
    num_params, gmacs = TORCHVISION_PUBLISHED[name]
    values = ENTRIES[name]["values"]
    assert values["params"]["trainable"] == num_params
    assert round(values["macs"] / 1e9, 3) == gmacs


@pytest.mark.parametrize("name", sorted(PAPER_CIFAR_PARAMS_M))
def test_golden_matches_the_papers_cifar_table(name):
    trainable = ENTRIES[name]["values"]["params"]["trainable"]
    millions = PAPER_CIFAR_PARAMS_M[name]
    assert round(trainable / 1e6, 2 if millions < 1 else 1) == millions


@pytest.mark.parametrize("name", representatives(closed_form.ALL))
def test_count_params_agrees_with_paddle_summary(name):
    with constant_init():
        model = build(name, lazy=False)
    assert summary_params(model, small_input(name)) == count_params(model)._asdict()


@pytest.mark.parametrize("name", sorted(PAPER_FLOPS_BILLIONS))
def test_golden_matches_the_papers_flops(name):
    """Table 1's FLOPs (multiply-adds) of the 18- and 34-layer nets: the plain nets and the option-A ResNets,
    which the paper says cost the same (section 4.1: option A has "no extra parameter"; the additions are not
    multiply-adds)."""
    assert round(ENTRIES[name]["values"]["macs"] / 1e9, 1) == PAPER_FLOPS_BILLIONS[name]


@pytest.mark.parametrize("plain, residual", sorted(closed_form.PLAIN.items()))
def test_a_plain_net_has_its_option_a_twins_parameters_and_flops(plain, residual):
    """Sections 4.1 and 4.2: ResNets with option-A shortcuts have exactly the parameters (and, the shortcuts
    adding no multiply-adds, the FLOPs) of their plain counterparts; the CIFAR ones match Table 6's counts. The
    layer rows differ in the additions and the zero-padding shortcuts alone."""
    twin = residual if closed_form.input_size(plain)[2] == 32 else f"{residual}:shortcut=A"
    plain_values, twin_values = ENTRIES[plain]["values"], ENTRIES[twin]["values"]
    assert plain_values["params"] == twin_values["params"] and plain_values["macs"] == twin_values["macs"]
    if residual in PAPER_CIFAR_PARAMS_M:
        millions = PAPER_CIFAR_PARAMS_M[residual]
        assert round(plain_values["params"]["trainable"] / 1e6, 2 if millions < 1 else 1) == millions
    plain_rows = {row[0] for row in plain_values["layers"]}
    twin_rows = {row[0] for row in twin_values["layers"]}
    assert plain_rows < twin_rows
    extra = twin_rows - plain_rows
    assert all(row.endswith((":add", ":getitem", ":zeros", ":concat", ".downsample")) for row in extra), extra
    adds = [row for row in extra if row.endswith(":add")]
    assert len(adds) == sum(1 for row in twin_values["layers"] if row[1].endswith("Block"))  # one per block
    assert not any(row[1] == "add" for row in plain_values["layers"])


def test_option_c_adds_the_papers_thirteen_projections_to_resnet34():
    """Section 4.1, Table 3: option C is "marginally better than B, and we attribute this to the extra parameters
    introduced by many (thirteen) projection shortcuts"."""
    def projections(name):
        return sum(1 for row in ENTRIES[name]["values"]["layers"] if row[0].endswith(".downsample.0"))

    extra = projections("resnet34:shortcut=C") - projections("resnet34")
    assert extra == PAPER_OPTION_C_EXTRA_PROJECTIONS == 13
    blocks = sum(closed_form.IMAGENET["resnet34"][1])
    assert projections("resnet34:shortcut=C") == blocks  # a projection on every block


def test_the_commands_verify_and_summarise_the_plain_nets_and_shortcut_variants(capsys):
    code, out, _ = run_cli(capsys, "verify", "--only", "plain20,plain32")
    assert code == 0 and "2 of 2 architectures match" in out
    code, out, _ = run_cli(capsys, "verify", "--model", "resnet18:shortcut=C", "--golden", str(GOLDEN_FILE))
    assert code == 0, out
    code, out, _ = run_cli(capsys, "verify", "--model", "resnet18:shortcut=B", "--golden", str(GOLDEN_FILE),
                           "--name", "resnet18:shortcut=C")  # B is not C: the missing projections are named
    assert code == 1 and "layer1.0.downsample.0" in out
    code, out, _ = run_cli(capsys, "summary", "plain20")
    assert code == 0 and "269,722" in out  # ResNet-20's parameters (Table 6: 0.27M), no ZeroPadShortcut
    assert "ZeroPadShortcut" not in out


@pytest.mark.parametrize("key, block", [("BasicBlock(64, 128, 2)", lambda: BasicBlock(64, 128, 2)),
                                        ("BottleneckBlock(64, 128, 2)", lambda: BottleneckBlock(64, 128, 2))])
def test_source_block_examples(key, block):
    expected = GOLDEN["blocks"][key]["values"]["params"]
    model = block()
    assert count_params(model)._asdict() == expected
    assert summary_params(model, (1, 64, 32, 32)) == expected


def test_source_documents_resnet50_printout_is_the_old_convention():
    """The source's 25,503,912 trainable is Paddle 2.1's summary, which counted BatchNorm weight and bias as
    non-trainable too (fixed in Paddle PR #42798): total minus every BatchNorm parameter."""
    with constant_init():
        model = create_model("resnet50")
    batch_norm = sum(int(p.numel()) for layer in model.sublayers() if isinstance(layer, paddle.nn.BatchNorm2D)
                     for p in layer.parameters())
    total = ENTRIES["resnet50"]["values"]["params"]["total"]
    assert total == 25_610_152
    assert (total - batch_norm, batch_norm) == (25_503_912, 106_240)


def test_golden_rows_record_the_computation_between_layers():
    layers = {row[0]: row for row in ENTRIES["resnet50"]["values"]["layers"]}
    assert layers["layer2.0:add"][2] == ["layer2.0.bn3", "layer2.0.downsample.1"]
    assert layers["layer2.0:relu#3"][2] == ["layer2.0:add"]
    assert layers["layer3.0.bn2"][5] == {"channels": 256, "epsilon": 1e-05, "momentum": 0.9, "data_format": "NCHW"}
    assert layers["layer2.0.conv2"][5]["stride"] == [2, 2]
    cifar = {row[0]: row for row in ENTRIES["resnet20"]["values"]["layers"]}
    assert cifar["layer2.0.downsample:concat"][2] == ["layer2.0.downsample:getitem", "layer2.0.downsample:zeros"]


def test_the_golden_file_is_reviewable_and_its_size_is_the_documented_one():
    """One layer row per line (a one-layer change touches a few lines of a diff), and the size
    docs/verification.md states (within 0.2 MB), which stays in the low megabytes."""
    text = GOLDEN_FILE.read_text()
    rows = sum(len(entry["values"]["layers"]) + len((entry["outputs"] or {"rows": []})["rows"])
               for entry in ENTRIES.values())
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith('["')) == rows
    megabytes = len(text.encode()) / 1e6
    docs = (Path(__file__).parents[1] / "docs" / "verification.md").read_text()
    stated = re.search(r"golden file is ([\d.]+) MB", docs)
    assert stated, "docs/verification.md should state the golden file's size as 'golden file is N.N MB'"
    assert abs(float(stated.group(1)) - megabytes) <= 0.2, f"the golden file is {megabytes:.1f} MB: update the docs"
    assert megabytes < 4


def test_a_golden_file_of_the_old_format_gets_a_clear_error(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": 1, "architectures": {"resnet18": {"input_size": [1, 3, 224, 224],
                                                                          "values": {}, "sources": {}}}}))
    with pytest.raises(GoldenFileError, match=r"has format 1, and this version of paddle_resnet reads format 4.*"
                                              r"make_golden.py.*--update"):
        load_golden(old)
    old.write_text(json.dumps({"format": 2, "architectures": {}}))
    with pytest.raises(GoldenFileError, match=r"has format 2, and this version of paddle_resnet reads format 4 "
                                              r"\(format 2 recorded neither the mode"):
        load_golden(old)
    old.write_text(json.dumps({"format": 3, "architectures": {}}))
    with pytest.raises(GoldenFileError, match=r"has format 3, .* \(format 3's value digests were computed with "
                                              r"weights seeded another way"):
        load_golden(old)
