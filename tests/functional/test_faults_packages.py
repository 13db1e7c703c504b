"""The fault sweep of `test_faults.py`, on a topology with a layer and bucket uploads.

Two functions share a local layer; `billing`'s package and the layer's are bigger than the
direct-upload limit, lowered here to 2 KB so that a few kilobytes go the way a 50 MB
package goes: a bucket (created, secured, tagged), two objects, a layer version published
from S3, a function created from S3. For every k, the k-th mutating call of `up` and of
`down` fails (before it reaches AWS, and after it took effect); each time the command exits
1 with one line naming the operation and the resource, and afterwards:

- `up` interrupted, then `down`: nothing of the stack is left (bucket, layer versions);
- `up` interrupted, then `up`: exactly the snapshot of an uninterrupted `up` (layer
  versions compared by content: numbering depends on history), then `down` leaves nothing;
- `down` interrupted, then `down`: nothing is left.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fault_injection import FailNth
from fault_sweep import (
    CliRuns,
    assert_fault_reported,
    parametrize_fault_points,
    reference_in_own_account,
)
from moto import mock_aws
from trust_support import differences, is_empty

from ebdemo.packaging import builder

STACK = "t1"
LIMIT = 2048  # stands for Lambda's 50 MB of a direct upload
HANDLER = "import common\n\ndef handler(event, context):\n    return common.WHO\n"


def write_project(root: Path) -> Path:
    billing = root / "src" / "billing"
    billing.mkdir(parents=True)
    (billing / "index.py").write_text(HANDLER)
    noise = random.Random(12)  # the same bytes in every test: the same packages
    (billing / "model.bin").write_bytes(noise.randbytes(3 * LIMIT))  # incompressible: S3
    (root / "notes.py").write_text(HANDLER)  # small: a direct upload
    layer = root / "layers" / "common" / "python"
    layer.mkdir(parents=True)
    (layer / "common.py").write_text("WHO = 'layer'\n")
    (layer / "blob.bin").write_bytes(noise.randbytes(3 * LIMIT))
    config = {
        "stack": STACK, "target": "aws", "region": "us-east-1",
        "functions": {
            "billing": {"code": "src/billing/", "layers": ["layers/common/"],
                        "permissions": [{"actions": ["dynamodb:GetItem"], "resources": [
                            "arn:aws:dynamodb:us-east-1:123456789012:table/orders"]}]},
            "notes": {"code": "notes.py", "layers": ["layers/common/"]},
        },
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Harness(CliRuns):
    """The layered project on disk (packages over the lowered limit go through S3)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(builder, "DIRECT_UPLOAD_MAX_BYTES", LIMIT)
        super().__init__(write_project(root), STACK, monkeypatch)


@functools.cache
def reference() -> dict[str, Any]:
    """One clean `up` (its calls, its snapshot), a no-op `up` and a `down`, in their own
    account and folder; computed once, at collection."""
    return reference_in_own_account(Harness, "ebdemo-faults-pkg-")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_fault_points(metafunc, reference)


@pytest.fixture(scope="module")
def account() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def harness(account, tmp_path, monkeypatch) -> Harness:
    h = Harness(tmp_path, monkeypatch)
    assert is_empty(h.snap()), "a previous test left resources behind"
    return h


def test_reference_run_goes_through_the_bucket_and_publishes_the_layer():
    ref = reference()
    assert ref["noop_mutating"] == 0
    calls = ref["up_calls"]
    for operation in ("CreateBucket", "PutPublicAccessBlock", "PutBucketEncryption",
                      "PutBucketTagging", "PutObject", "PublishLayerVersion",
                      "CreateFunction"):
        assert operation in calls, (operation, calls)
    assert calls.count("PutObject") == 2 and calls.count("CreateFunction") == 2
    state = ref["snapshot"]
    (bucket,) = state["buckets"].values()
    assert len(bucket["objects"]) == 2 and bucket["tags"]["ebdemo:stack"] == STACK
    assert len(state["layers"]["t1-common"]) == 1
    layers = {fn["layers"][0] for fn in state["functions"].values()}
    assert len(layers) == 1 and next(iter(layers)).startswith("t1-common@ebdemo layer")
    print(f"\nfault points: up {ref['n_up']}, down {ref['n_down']}")


def test_up_interrupted_at_every_call(harness, k_up):
    fault = FailNth(k_up)
    assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())
    fault = FailNth(k_up)
    assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), reference()["snapshot"])
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_up_failing_after_each_call_took_effect(harness, k_up):
    fault = FailNth(k_up, after=True)
    assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), reference()["snapshot"])
    assert len(harness.ok("up", "--yes").call_log.mutating) == 0
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_down_interrupted_at_every_call(harness, k_down, after):
    harness.ok("up", "--yes")
    fault = FailNth(k_down, after=after)
    assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())
