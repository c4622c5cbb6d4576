"""What a sweep will do before it does it: its lanes, each cell's phases, and its duration and cost.

A *lane* is one copy of the stack that runs its share of the cells one after
the other. On the local cloud several lanes run side by side (their chaos runs
mostly wait on scaled AWS time, so two cores serve more than one); each lane's
stack has its own names (stack, table, hosted zone, domain), so nothing is
shared. On AWS the default is one lane: every lane is a whole stack to pay for.

*Phases*: with ``phases="auto"`` each cell watches exactly as long as it must,
from the recovery model's a-priori prediction (``helpers.recovery_model``):
the fault is held past Route 53's worst case and the model's 95th percentile,
and the repair is watched until the health check can be healthy again. The
chaos notebook itself measures and predicts again from what it saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from helpers.config import validate
from helpers.parameters import ConfigError, check
from helpers.recovery_model import Prediction, Setting, predict

STEADY_S = 20.0  # AWS seconds of load before the fault: several requests per client, every checker probed
HOLD_MARGIN = 1.1  # the fault is held this much past the longer of the worst case and the model's p95, plus two requests
RECOVERY_MARGIN_S = 10.0  # AWS seconds watched after the model's p95 of "healthy again"
UNBOUNDED_HOLD_S = 10.0**6  # a hold no recovery outlasts: the model's recovery time, not cut short
PLANNING_TRIALS = 600  # the a-priori prediction only sizes the phases: fewer trials than a run's own


@dataclass(frozen=True)
class BackendTime:
    """What a sweep's runs cost beyond their own timelines on one backend, in its own (wall) seconds."""

    per_run_s: float  # the kernel, the analysis, the plots, the report
    reconfigure_s: float  # a change of records or health checks, until Route 53 reports it
    new_check_s: float  # a replaced health check (a new interval) until its first observations
    priced: bool  # whether the stacks cost money while the sweep runs
    described: str  # how the estimate's time reads


BACKEND_TIME = {
    # Measured on a 2-core machine; the progress line corrects it as runs finish.
    "local": BackendTime(10.0, 0.0, 0.0, False, "of wall time"),
    # The kernel plus waiting for the replicas; Route 53 changes are INSYNC within about 60 s.
    "aws": BackendTime(60.0, 60.0, 120.0, True, "on AWS"),
}
HOURS_PER_MONTH = 730.0


def a_priori_setting(params: Mapping[str, Any], hold_s: float | None = None) -> Setting:
    """The recovery model's inputs from the parameters alone (a run measures the checkers' phases and the
    share of answers itself; here the phases are random and the answers split evenly)."""
    from helpers.chaos import model_setting

    cfg = validate(params)
    share = 1 / len(cfg.regions)
    if cfg.routing_policy == "failover":
        share = 1.0 if cfg.faulty_region == cfg.primary_region else 0.0
    return model_setting(cfg, ttl_s=cfg.received_ttl_s(cfg.record_ttl), broken_share=share, hold_s=hold_s)


def a_priori_prediction(params: Mapping[str, Any]) -> Prediction:
    """The model's prediction for these parameters, with the fault held until every client has moved."""
    return predict(a_priori_setting(params, hold_s=UNBOUNDED_HOLD_S), trials=PLANNING_TRIALS)


def auto_phases(params: Mapping[str, Any]) -> dict[str, float]:
    """steady_s, hold_s and recovery_s for one cell: long enough to see every client move and the check recover."""
    setting = a_priori_setting(params, hold_s=UNBOUNDED_HOLD_S)
    prediction = predict(setting, trials=PLANNING_TRIALS)
    longest = max(prediction.worst_case_s, prediction.client_convergence.p95, setting.client.cache_s(setting.ttl_s))
    hold = math.ceil(longest * HOLD_MARGIN + 2 * setting.request_period_s)
    recovery = math.ceil(prediction.healthy_again.p95 + RECOVERY_MARGIN_S)
    return {"steady_s": STEADY_S, "hold_s": float(hold), "recovery_s": float(recovery)}


def lane_params(base: Mapping[str, Any], lane: int) -> dict[str, Any]:
    """The parameters of lane ``lane`` (0 is the base stack itself): its own stack, table, zone and domain."""
    if lane == 0:
        return dict(base)
    n = lane + 1
    if not base["create_hosted_zone"]:
        raise ConfigError("more than one lane needs a hosted zone per lane, which the sweep creates only with "
                          "create_hosted_zone: true; use --lanes 1 with your own zone")
    zone = base["hosted_zone"]
    first, _, rest = zone.partition(".")
    lane_zone = f"{first}-{n}.{rest}" if rest else f"{zone}-{n}"
    return {**base, "stack_name": f"{base['stack_name'][:21]}-{n}", "table_name": f"{base['table_name']}-{n}",
            "hosted_zone": lane_zone, "domain_name": base["domain_name"][: -len(zone)] + lane_zone}


@dataclass(frozen=True)
class Estimate:
    """How long a sweep takes and what it costs, before it starts."""

    runs: int
    lanes: int
    aws_s: float  # AWS seconds of chaos timelines, all runs
    wall_s: float  # seconds the sweep should take on its backend
    usd: float  # the stacks' fixed costs over the duration plus the runs' requests; 0 where nothing is priced
    backend: BackendTime

    def describe(self) -> str:
        time_ = f"{self.runs} chaos runs on {self.lanes} lane(s): about {_minutes(self.wall_s)} {self.backend.described}"
        if not self.backend.priced:
            return f"{time_} ({self.aws_s / 3600:.1f} h of AWS time, run faster by the time scale); no cost"
        return f"{time_}, and about ${self.usd:.2f} (health checks, records and zone for the duration, plus the runs' requests)"


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def estimate(runs: list[dict[str, Any]], lanes: int, reconfigurations: int, interval_changes: int) -> Estimate:
    """The sweep's duration and cost from its runs' parameters (each with its phases), before anything runs."""
    from helpers.aws_account import cost_estimate

    backend = BACKEND_TIME[runs[0]["backend"]]
    timeline = sum(p["steady_s"] + p["hold_s"] + p["recovery_s"] for p in runs)
    wall = (timeline * runs[0]["time_scale"] + backend.per_run_s * len(runs) + backend.reconfigure_s * reconfigurations
            + backend.new_check_s * interval_changes) / lanes
    usd = 0.0
    if backend.priced:
        costs = [cost_estimate(validate(p)) for p in runs]
        monthly = max(float(c["usd_per_month"].sum()) for c in costs)
        usd = monthly * lanes * wall / 3600 / HOURS_PER_MONTH + sum(float(c["usd_per_run"].sum()) for c in costs)
    return Estimate(len(runs), lanes, timeline, wall, usd, backend)


def run_params(base: Mapping[str, Any], cell_params: Mapping[str, Any], phases: str) -> dict[str, Any]:
    """One run's parameters, validated and plain (as ``Config.public_params`` gives them, for a parameter file):
    the base, the cell's values and (``auto``) the cell's phases."""
    params = check({**base, **cell_params})
    if phases == "auto":
        params.update({k: v for k, v in auto_phases(params).items() if k not in cell_params})
    return validate(params).public_params()
