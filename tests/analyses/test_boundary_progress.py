"""BD progress that moves (issue 39, point 2): the search reports every forward call, so a bar
advances within one search of one batch, not once per batch of images."""

from __future__ import annotations

import torch

from analysis.analyses.boundary_search import boundary_distance, schedule_points


class _Linear(torch.nn.Module):
    """Two classes split by the plane w . x = 0."""

    def __init__(self, dims: int):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(dims, generator=torch.Generator().manual_seed(1)))

    def forward(self, x):
        s = x.flatten(1) @ self.w
        return torch.stack([s, -s], 1)


def test_the_search_reports_each_forward_call_and_ends_at_its_expected_count():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 8, 8, generator=gen) - 0.5
    d = torch.randn(6, 1, 8, 8, generator=gen)
    calls = []
    res = boundary_distance(_Linear(64), x, d, max_dist=30.0, tol=0.01,
                            on_step=lambda done, expected: calls.append((done, expected)))
    points = len(schedule_points("geometric", 30.0))
    expected = calls[-1][1]
    assert len(calls) > 10 and expected > points           # the scan's calls and the bisection's
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and calls[-1][0] == expected
    assert all(c[1] == expected for c in calls)
    quiet = boundary_distance(_Linear(64), x, d, max_dist=30.0, tol=0.01)
    assert torch.equal(res.dist.nan_to_num(-1), quiet.dist.nan_to_num(-1))   # same search
