"""`ebdemo.filewatch`: what `ebdemo dev` notices, and when (a fake clock, real files)."""

from __future__ import annotations

import os
from pathlib import Path

from ebdemo.config import load_config
from ebdemo.filewatch import Watcher, changed, snapshot, watched_roots


def _bump(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_snapshot_covers_files_and_directories_but_not_caches_or_swap_files(tmp_path):
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / "pkg").mkdir()
    for name in ("src/app.py", "src/pkg/util.py", "src/requirements.txt",
                 "src/__pycache__/app.cpython-312.pyc", "src/.app.py.swp", "src/app.py~",
                 "config.yaml"):
        (tmp_path / name).write_text("x")
    snap = snapshot([tmp_path / "config.yaml", tmp_path / "src", tmp_path / "missing"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in snap) == [
        "config.yaml", "src/app.py", "src/pkg/util.py", "src/requirements.txt",
    ]


def test_changed_names_added_removed_and_modified_files(tmp_path):
    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    a.write_text("1")
    b.write_text("1")
    before = snapshot([tmp_path])
    _bump(a, "22")
    b.unlink()
    c.write_text("new")
    assert changed(before, snapshot([tmp_path])) == [a, b, c]
    assert changed(before, before) == []


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.actions: dict[int, object] = {}  # poll number -> what happens before it
        self.polls = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.polls += 1
        action = self.actions.get(self.polls)
        if callable(action):
            action()


def test_a_burst_of_saves_is_one_change_once_quiet(tmp_path):
    handler = tmp_path / "app.py"
    handler.write_text("v1")
    other = tmp_path / "util.py"
    other.write_text("v1")
    fake = FakeTime()
    watcher = Watcher(lambda: [tmp_path], interval=0.1, quiet=0.25, clock=fake.clock,
                      sleep=fake.sleep)
    # an editor: write, rename-over, a formatter's rewrite, another file, on 4 polls in a row
    fake.actions = {3: lambda: _bump(handler, "v2"), 4: lambda: _bump(handler, "v22"),
                    5: lambda: _bump(handler, "v222"), 6: lambda: _bump(other, "v2")}
    assert watcher.wait() == [handler, other]
    assert fake.polls == 9  # the last change at poll 6, then quiet for 0.25 s (3 polls)
    assert fake.now < 1.0


def test_nothing_is_reported_when_nothing_changed_and_stop_ends_the_wait(tmp_path):
    (tmp_path / "app.py").write_text("v1")
    fake = FakeTime()
    watcher = Watcher(lambda: [tmp_path], interval=0.1, quiet=0.25, clock=fake.clock,
                      sleep=fake.sleep)
    assert watcher.wait(should_stop=lambda: fake.polls >= 20) == []


def test_the_roots_follow_the_config(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "one.py").write_text("def handler(event, context):\n    return 1\n")
    config = tmp_path / "config.yaml"
    config.write_text("stack: w\nfunctions:\n  a:\n    code: src\n    handler: app.handler\n"
                      "  b:\n    code: one.py\n")
    roots = watched_roots(load_config(config))
    assert roots == [config, tmp_path / "src", tmp_path / "one.py"]


def test_requirements_and_local_layers_are_watched_too(tmp_path):
    (tmp_path / "one.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "reqs.txt").write_text("")
    (tmp_path / "shared" / "python").mkdir(parents=True)
    (tmp_path / "shared" / "python" / "helpers.py").write_text("X = 1\n")
    config = tmp_path / "config.yaml"
    config.write_text("stack: w\nfunctions:\n  b:\n    code: one.py\n    requirements: reqs.txt\n"
                      "    layers: [shared]\n")
    roots = watched_roots(load_config(config))
    assert roots == [config, tmp_path / "one.py", tmp_path / "reqs.txt", tmp_path / "shared"]
    assert tmp_path / "shared" / "python" / "helpers.py" in snapshot(roots)
