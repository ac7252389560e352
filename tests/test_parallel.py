"""Spreading stacks over worker processes: balanced, cloud-affine, same results as sequential."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra import parallel
from infra.checker import check_stacks

clouds_lists = st.lists(st.sampled_from(["aws", "azure", "gcp"]), min_size=1, max_size=60)


@given(clouds_lists, st.integers(min_value=1, max_value=4))
def test_every_stack_is_assigned_exactly_once(clouds, jobs):
    plan = parallel.assign(clouds, jobs)
    assert sorted(i for worker in plan for i in worker) == list(range(len(clouds)))
    assert len(plan) <= jobs


@given(clouds_lists, st.integers(min_value=2, max_value=4))
def test_more_workers_never_predict_slower_than_one(clouds, jobs):
    one = parallel.predicted_seconds(clouds, 1)
    assert parallel.predicted_seconds(clouds, jobs) <= one + parallel.WORKER_SECONDS * jobs


def test_reference_fleet_keeps_each_cloud_in_one_worker():
    clouds = ["aws"] * 3 + ["azure"] * 3 + ["gcp"] * 3
    plan = parallel.assign(clouds, 2)
    per_worker = [{clouds[i] for i in worker} for worker in plan]
    assert all(sum(cloud in w for w in per_worker) == 1 for cloud in ("aws", "azure", "gcp"))


def test_large_fleets_are_balanced():
    clouds = [["aws", "azure", "gcp"][i % 3] for i in range(200)]
    sizes = [len(w) for w in parallel.assign(clouds, 2)]
    assert max(sizes) - min(sizes) <= 10


def test_single_stack_runs_in_process():
    assert parallel.auto_jobs(["aws"]) == 1


def square(x: int) -> int:
    return x * x


def test_run_returns_results_in_input_order():
    seen = []
    results = parallel.run(list(range(7)), ["aws", "gcp"] * 3 + ["azure"], square, jobs=2, on_result=seen.append)
    assert results == [x * x for x in range(7)]
    assert sorted(seen) == sorted(results)


def die(_: int) -> int:
    os._exit(3)


def test_a_dying_worker_is_reported_not_awaited_forever():
    with pytest.raises(RuntimeError, match="exited without finishing"):
        parallel.run([1, 2], ["aws", "gcp"], die, jobs=2)


def test_parallel_check_matches_sequential():
    stacks = ["aws-dev", "gcp-staging", "azure-dev"]
    one = [r.document() for r in check_stacks(stacks, jobs=1)]
    two = [r.document() for r in check_stacks(stacks, jobs=2)]
    assert one == two
