"""The plan cache: identical results, every input invalidates, untrusted entries, concurrency, LRU."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra import stackfile
from infra.cache import PlanCache, cache_dir, fingerprint
from infra.cache.store import Store
from infra.checker import render_json, render_markdown, render_text, report_for
from infra.cli import app

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_STACKS = sorted(
    stackfile.stack_name_of(p) for p in stackfile.all_stack_paths(ROOT) if stackfile.stack_name_of(p).count("-") == 1
)


@pytest.fixture
def cache(tmp_path) -> PlanCache:
    return PlanCache(tmp_path / "cache")


@pytest.fixture
def fresh_digests():
    fingerprint.code_digest.cache_clear()
    fingerprint.environment_digest.cache_clear()
    yield
    fingerprint.code_digest.cache_clear()
    fingerprint.environment_digest.cache_clear()


def copy_stack(tmp_path: Path, name: str = "aws-dev") -> stackfile.StackFile:
    path = tmp_path / f"Pulumi.{name}.yaml"
    shutil.copy(ROOT / "stacks" / f"Pulumi.{name}.yaml", path)
    return stackfile.load(path)


@pytest.mark.parametrize("name", REFERENCE_STACKS)
def test_cached_plan_and_report_are_identical(name, plan_for, cache):
    plan = plan_for(name)
    stack = stackfile.load(name, ROOT)
    report = report_for(plan, stack.spec)
    key = cache.key(stack)
    cache.save(key, plan, report)
    cached_plan, cached_report = cache.plan(key), cache.report(key)
    assert cached_plan is not None and cached_report is not None
    assert json.dumps(cached_plan.document(cached_report.cost, cached_report.violations)) == json.dumps(
        plan.document(report.cost, report.violations)
    )
    assert cached_plan == plan  # graph and the text plan read every field
    for render in (render_json, render_text, render_markdown):
        assert render([cached_report]) == render([report])


def test_check_and_plan_commands_print_the_same_from_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    from infra.engine import runner as engine

    planned, real = [], engine.plan_stack
    monkeypatch.setattr(engine, "plan_stack", lambda *a, **k: planned.append(a[0].name) or real(*a, **k))
    runner = CliRunner()
    commands = [["check", "aws-dev", "--format", "json"], ["plan", "aws-dev", "--json"], ["graph", "aws-dev"]]
    cold = [runner.invoke(app, args) for args in commands]
    assert planned == ["aws-dev"]  # check wrote the entry plan and graph read
    warm = [runner.invoke(app, args) for args in commands]
    uncached = [runner.invoke(app, [*args, "--no-cache"]) for args in commands]
    assert planned == ["aws-dev"] * 4
    for before, after, fresh in zip(cold, warm, uncached, strict=True):
        assert (after.exit_code, after.stdout) == (before.exit_code, before.stdout) == (fresh.exit_code, fresh.stdout)


def test_validate_plans_once_for_the_check_that_follows(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    from infra.engine import runner as engine

    planned, real = [], engine.plan_stack
    monkeypatch.setattr(engine, "plan_stack", lambda *a, **k: planned.append(a[0].name) or real(*a, **k))
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", "aws-dev"])
    checked = runner.invoke(app, ["check", "aws-dev", "--format", "json"])
    assert validated.exit_code == 0 and checked.exit_code in (0, 1)
    assert planned == ["aws-dev"]  # the budget check's plan is the one check reports on
    assert json.loads(checked.stdout)["stacks"][0]["stack"] == "aws-dev"


def test_location_is_the_project_root_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv("MLOPS_CACHE_DIR")
    assert cache_dir(ROOT) == ROOT / ".mlops" / "cache"
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path))
    assert cache_dir(ROOT) == tmp_path
    assert PlanCache.for_project(enabled=False) is None


# ---- each input invalidates ----------------------------------------------------------------------


def test_stack_bytes_invalidate(tmp_path, cache):
    stack = copy_stack(tmp_path)
    before = cache.key(stack)
    stack.path.write_text(stack.path.read_text() + "# a comment changes the bytes\n")
    assert cache.key(stackfile.load(stack.path)) != before


def test_stack_name_is_part_of_the_key(tmp_path, cache):
    first = copy_stack(tmp_path)
    # Same bytes under another stack name (validation would refuse a renamed reference stack file,
    # so the name is changed on the loaded stack): URNs carry the stack name.
    assert cache.key(dataclasses.replace(first, name="other-name")) != cache.key(first)


@pytest.mark.parametrize(
    "changed",
    ["infra/aws/serving.py", "infra/data/prices.yaml", "policies/config/prod.json", "mlops_workload/train.py"],
)
def test_a_code_or_data_file_invalidates(changed, tmp_path, monkeypatch, fresh_digests):
    for name in fingerprint.CODE_PACKAGES:
        (tmp_path / name).mkdir()
    (tmp_path / changed).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / changed).write_text("one\n")
    monkeypatch.setattr(fingerprint, "package_dir", lambda name: tmp_path / name)
    before = fingerprint.code_digest()
    fingerprint.code_digest.cache_clear()
    (tmp_path / changed).parent.joinpath("__pycache__").mkdir()
    (tmp_path / changed).parent.joinpath("__pycache__", "x.cpython-311.pyc").write_bytes(b"\0")
    assert fingerprint.code_digest() == before  # byte-code is not an input
    fingerprint.code_digest.cache_clear()
    (tmp_path / changed).write_text("two\n")
    assert fingerprint.code_digest() != before


def test_the_real_code_roots_hold_the_program_policies_and_data():
    infra_dir, policies_dir = fingerprint.package_dir("infra"), fingerprint.package_dir("policies")
    assert (infra_dir / "data").is_dir() and (infra_dir / "engine" / "runner.py").is_file()
    assert (policies_dir / "PulumiPolicy.yaml").is_file()


def test_a_package_version_invalidates(tmp_path, monkeypatch, fresh_digests, cache):
    site = tmp_path / "site"
    (site / "pulumi_aws-7.51.1.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    stack = copy_stack(tmp_path)
    before = cache.key(stack)
    (site / "pulumi_aws-7.51.1.dist-info").rename(site / "pulumi_aws-7.52.0.dist-info")
    fingerprint.environment_digest.cache_clear()
    assert cache.key(stack) != before


def test_an_option_invalidates(tmp_path, cache):
    stack = copy_stack(tmp_path)
    assert cache.key(stack, preview=True) != cache.key(stack)
    assert cache.key(stack, config={"aws-s3-bucket-encryption": {"enforcementLevel": "disabled"}}) != cache.key(stack)


def test_an_edited_stack_is_planned_again_by_the_command(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    stack = copy_stack(tmp_path)
    from infra.engine import runner as engine

    planned, real = [], engine.plan_stack
    monkeypatch.setattr(engine, "plan_stack", lambda *a, **k: planned.append(1) or real(*a, **k))
    runner = CliRunner()
    for _ in range(2):
        runner.invoke(app, ["check", str(stack.path)])
    stack.path.write_text(stack.path.read_text() + "# edited\n")
    runner.invoke(app, ["check", str(stack.path)])
    assert planned == [1, 1]


# ---- entries that are not trusted ---------------------------------------------------------------


def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path, cache, plan_for):
    stack = stackfile.load("aws-dev", ROOT)
    key, plan = cache.key(stack), plan_for("aws-dev")
    cache.save(key, plan)
    path = cache.store.path(key, "plan")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert cache.plan(key) is None
    path.write_bytes(b"garbage")
    assert cache.plan(key) is None
    cache.save(key, plan)
    assert cache.plan(key) == plan


def test_a_foreign_entry_is_not_trusted(tmp_path, cache, plan_for):
    aws, gcp = stackfile.load("aws-dev", ROOT), stackfile.load("gcp-dev", ROOT)
    cache.save(cache.key(aws), plan_for("aws-dev"))
    shutil.copy(cache.store.path(cache.key(aws), "plan"), cache.store.path(cache.key(gcp), "plan"))
    assert cache.plan(cache.key(gcp)) is None  # a valid entry, but for another key
    older = cache.store.path(cache.key(aws), "plan")
    older.write_bytes(older.read_bytes().replace(b"mlops-cache 1 ", b"mlops-cache 0 ", 1))
    assert cache.plan(cache.key(aws)) is None  # another entry format


def _write_many(directory: str, marker: int) -> None:
    store = Store(Path(directory))
    for _ in range(40):
        store.write("shared", "plan", {"writer": marker, "payload": [marker] * 20_000})


def test_concurrent_writers_do_not_corrupt(tmp_path):
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), marker)) for marker in range(4)]
    for writer in writers:
        writer.start()
    store, seen = Store(tmp_path), 0
    while any(w.is_alive() for w in writers):
        value = store.read("shared", "plan")
        if value is not None:
            assert value["payload"] == [value["writer"]] * 20_000
            seen += 1
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert store.read("shared", "plan")["writer"] in range(4)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


def test_least_recently_used_entries_go_first_past_the_limit(tmp_path):
    store = Store(tmp_path, limit_bytes=10**9)
    for age, key in enumerate("abc"):
        store.write(key, "plan", [key, list(range(1000))])
        os.utime(store.path(key, "plan"), (1_000_000 + age, 1_000_000 + age))  # "a" written first
    assert store.read("a", "plan") is not None  # reading makes "a" the most recently used
    size = store.path("a", "plan").stat().st_size
    store.limit_bytes = 3 * size + size // 2
    store.write("d", "plan", ["d", list(range(1000))])
    assert {k for k in "abcd" if store.path(k, "plan").exists()} == {"a", "c", "d"}  # "b": least recently used


def test_the_size_limit_comes_from_the_environment(monkeypatch):
    from infra.cache.store import DEFAULT_LIMIT_MB, size_limit

    monkeypatch.setenv("MLOPS_CACHE_MAX_MB", "3")
    assert size_limit() == 3 * 1024 * 1024
    monkeypatch.delenv("MLOPS_CACHE_MAX_MB")
    assert size_limit() == DEFAULT_LIMIT_MB * 1024 * 1024


# ---- a hit is cheap ------------------------------------------------------------------------------

_CHECK_AND_LIST_SDKS = """
import atexit, sys
from infra.cli import main
atexit.register(lambda: print(sorted({m.split(".")[0] for m in sys.modules if m.startswith("pulumi")}), file=sys.stderr))
sys.argv = ["mlops", "check", "aws-dev"]
main()
"""


def test_a_cache_hit_imports_no_pulumi_or_provider_sdk(tmp_path):
    env = {**os.environ, "MLOPS_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", _CHECK_AND_LIST_SDKS], cwd=ROOT, env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode
    assert "pulumi_aws" in runs[0].stderr.splitlines()[-1]
    assert runs[1].stderr.splitlines()[-1] == "[]"


def test_the_ci_workflow_persists_the_cache_keyed_on_its_inputs():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "mlops-checks.yml").read_text())
    steps = workflow["jobs"]["offline"]["steps"]
    names = [step.get("name") for step in steps]
    (restore,) = [step for step in steps if str(step.get("uses", "")).startswith("actions/cache@")]
    assert restore["with"]["path"] == ".mlops/cache"
    assert names.index(restore["name"]) < names.index("Policy check")
    for pattern in ("pyproject.toml", "stacks/**", *(f"{name}/**" for name in fingerprint.CODE_PACKAGES)):
        assert f"'{pattern}'" in restore["with"]["key"]


def test_stack_files_parse_the_same_with_libyaml_and_duplicates_are_still_refused(tmp_path):
    import yaml

    if stackfile._FastUniqueKeyLoader is None:
        pytest.skip("PyYAML without libyaml")
    for path in stackfile.all_stack_paths(ROOT):
        text = path.read_text()
        assert yaml.load(text, Loader=stackfile._FastUniqueKeyLoader) == yaml.load(
            text, Loader=stackfile._UniqueKeyLoader
        )
    twice = tmp_path / "Pulumi.twice.yaml"
    twice.write_text("config:\n  mlops:spec:\n    team: a\n    team: b\n")
    with pytest.raises(stackfile.StackError, match=r"duplicate key 'team' \(line 4\)"):
        stackfile.load(twice)


def test_the_date_invalidates(tmp_path, cache, monkeypatch):
    """Plans may depend on the day (an Azure budget starts in the current month, waivers expire)."""
    import infra.cache

    stack = copy_stack(tmp_path)
    before = cache.key(stack)
    monkeypatch.setattr(infra.cache, "today", lambda: "2999-01-01")
    assert cache.key(stack) != before
