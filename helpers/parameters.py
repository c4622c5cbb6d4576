"""The runbook's parameters, each declared once: name, type, default, meaning and check.

Everything else is derived from ``GROUPS`` below:

- ``helpers.config.Config`` (one field per parameter) and ``validate`` (the checks here);
- every notebook's ``parameters`` cell: each notebook declares every parameter, so
  the runner passes all of them to each one and each builds the same Config;
- ``parameters/local.yaml``: every parameter at its default, the default run;
- the README's parameters table, between ``<!-- parameters:begin -->`` and
  ``<!-- parameters:end -->``.

``python -m helpers.parameters --write`` (``make params``) rewrites the cells,
local.yaml and the README table; ``--check`` lists what differs (a test does too).

Parameter files and ``-p NAME VALUE`` options follow papermill's conventions:
later files and options override earlier ones, values parse as YAML.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import reprlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from awsfacts import time_scale
from awsfacts.global_tables import MRSC_REGION_SETS, describe_region_sets, mrsc_layout_error, region_set_of
from awsfacts.regions import known_regions, partition_of
from helpers.client_model import DNS_CACHE_MODES, ON_FAILURE_MODES
from helpers.fault_kinds import FAULT_KINDS, MAX_FAULT_HOURS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_ROOT / ".localcloud"
DEFAULT_RUN_DIR = PROJECT_ROOT / "reports" / "interactive"
FIXTURE_NOTEBOOKS_DIR = PROJECT_ROOT / "tests" / "fixtures"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
LOCAL_YAML = PROJECT_ROOT / "parameters" / "local.yaml"
README = PROJECT_ROOT / "README.md"
README_BEGIN = "<!-- parameters:begin -->"
README_END = "<!-- parameters:end -->"


class ConfigError(ValueError):
    """A parameter has a value the runbook cannot use; the message says which and why."""


class Invalid(ValueError):
    """Raised by a check with what is allowed; the caller names the parameter and the value."""


# ------------------------------------------------------------------ checks of one value
def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid('expected a string ("" for the default)')
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    raise Invalid("expected true or false")


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid("expected a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise Invalid("expected a finite number") from None
    if not math.isfinite(number):
        raise Invalid("expected a finite number")
    return number


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _float(value)
    if not number.is_integer():
        raise Invalid("expected a whole number")
    return int(number)


def _string_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # `-p regions eu-west-1,eu-central-1`
        value = [r.strip() for r in value.split(",") if r.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(r, str) for r in value):
        raise Invalid("expected a list of AWS region names, e.g. [eu-west-1, eu-central-1]")
    return tuple(value)


CONVERT: dict[type, Callable[[Any], Any]] = {str: _string, bool: _boolean, float: _float, int: _integer,
                                             list: _string_list}


def _within(allowed: Callable[[Any], bool], what: str) -> Callable[[Any], Any]:
    """A check that accepts the values ``allowed`` says yes to and otherwise says ``what`` is allowed."""
    def check(value: Any) -> Any:
        if not allowed(value):
            raise Invalid(what)
        return value
    return check


def _matching(pattern: str, what: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise Invalid(what)
        return value
    return check


# DNS names, lowercase, without the final dot.
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _domain(value: str) -> str:
    name = value.rstrip(".").lower()
    if not _DOMAIN_RE.match(name):
        raise Invalid("expected a DNS domain name such as example.com")
    return name


def _regions(regions: tuple[str, ...]) -> tuple[str, ...]:
    """Two or more distinct region names botocore knows, all in one AWS partition.

    A global table's replicas, and Route 53 routing between them, stay within one
    partition (aws, aws-cn, aws-us-gov, ...): https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html
    """
    if len(regions) < 2:
        raise Invalid("an active-active backend needs two or more regions")
    duplicates = sorted({r for r in regions if regions.count(r) > 1})
    if duplicates:
        raise Invalid(f"regions must be distinct, {', '.join(duplicates)} appears twice")
    valid = known_regions()
    for region in regions:
        if region not in valid:
            close = difflib.get_close_matches(region, valid, n=1)
            raise Invalid(f"{region!r} is not an AWS region name" + (f" (did you mean {close[0]!r}?)" if close else ""))
    partitions = {region: partition_of(region) for region in regions}
    if len(set(partitions.values())) > 1:
        listed = ", ".join(f"{r} ({p})" for r, p in partitions.items())
        raise Invalid(f"all regions must be in one AWS partition, these are in several: {listed}")
    return regions


def _time_scale(value: float) -> float:
    try:
        return time_scale.check_time_scale(value)
    except ValueError:
        raise Invalid(time_scale.ALLOWED) from None


def _path_or(default: Path) -> Callable[[str], str]:
    def check(value: str) -> str:
        return value or str(default)
    return check


# Route 53 TTLs and health checks: https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html
HEALTH_CHECK_INTERVALS = (10, 30)
# FIS ends the runbook's faults after MAX_FAULT_HOURS, so a fault held longer would end early on AWS;
# each phase of the chaos timeline is bounded by the same.
MAX_PHASE_S = MAX_FAULT_HOURS * 3600.0


# How a sweep (``runbook sweep``, helpers/sweep.py) may vary a parameter between its chaos runs.
PER_RUN = "per run"  # each chaos run reads it: nothing to change on the stack
RECONFIGURE = "reconfigure"  # changed in place between runs, by the helpers of 04 (health checks) and 05 (routing)
FIXED = "fixed"  # fixed when the stack is built or the local cloud starts: one value per sweep
SWEEP_KINDS = (PER_RUN, RECONFIGURE, FIXED)


@dataclass(frozen=True)
class Parameter:
    """One runbook parameter."""

    name: str
    type: type  # str, int, float, bool or list (of strings)
    default: Any
    help: str  # one line: the comment in the parameters cell and the README's meaning
    choices: tuple[Any, ...] = ()  # the allowed values, when they are a list
    check: Callable[[Any], Any] | None = None  # converted value -> value to use; raises Invalid(what is allowed)
    sweep: str = FIXED  # how a sweep may vary it (SWEEP_KINDS)

    def parse(self, value: Any) -> Any:
        """The value to use, or ConfigError naming this parameter, the value and what is allowed."""
        try:
            converted = CONVERT[self.type](value)
            if self.choices and converted not in self.choices:
                raise Invalid(f"allowed values are {', '.join(map(str, self.choices))}")
            return self.check(converted) if self.check else converted
        except Invalid as problem:
            raise ConfigError(f"parameter {self.name!r} has value {_shown(value)}: {problem}") from None

    @property
    def comment(self) -> str:
        return f"{self.help} ({', '.join(map(str, self.choices))})" if self.choices else self.help


GROUPS: tuple[tuple[str, tuple[Parameter, ...]], ...] = (
    ("the stack", (
        Parameter("backend", str, "local", "where the stack runs: the offline local cloud or your AWS account",
                  choices=("local", "aws")),
        Parameter("regions", list, ("eu-west-1", "eu-central-1"),
                  "two or more AWS regions of one partition; the first is the primary", check=_regions),
        Parameter("stack_name", str, "mraa", "prefix and runbook:stack tag of every resource this runbook creates",
                  check=_matching(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$",
                                  "2-24 characters: lowercase letters, digits and '-', starting with a letter")),
        Parameter("table_name", str, "MyGlobalTable", "the DynamoDB global table",
                  check=_matching(r"^[A-Za-z0-9_.-]{3,255}$", "DynamoDB table names are 3-255 characters of "
                                  "a-z, A-Z, 0-9, '_', '-' and '.'")),
        Parameter("hosted_zone", str, "runbook.test", "Route 53 hosted zone of the API's domain", check=_domain),
        Parameter("domain_name", str, "api.runbook.test", "the API's custom domain name, inside hosted_zone",
                  check=_domain),
        Parameter("create_hosted_zone", bool, True,
                  "create the zone (teardown deletes it); false on AWS: use your existing public zone"),
        Parameter("stage", str, "dev", "API Gateway stage",
                  check=_matching(r"^[A-Za-z0-9_]{1,128}$",
                                  "API Gateway stage names are 1-128 characters of letters, digits and '_'")),
    )),
    ("timing, routing and health checks", (
        Parameter("time_scale", float, 0.1,
                  "multiplies every AWS duration on the local cloud (0.1: a 10 s interval takes 1 s); 1.0 on AWS",
                  check=_time_scale),
        Parameter("routing_policy", str, "weighted", "how Route 53 spreads clients over the regions",
                  choices=("weighted", "latency", "failover"), sweep=RECONFIGURE),
        Parameter("use_traffic_policy", bool, False, "the blog's traffic policy instead of plain records "
                  "(about $50/month on AWS)", sweep=RECONFIGURE),
        Parameter("record_ttl", int, 10, "TTL of the API's DNS records in seconds (60 or less with health checks)",
                  check=_within(lambda v: 0 <= v <= 86400, "a DNS TTL between 0 and 86400 seconds (60 or less is recommended "
                                           "with health checks)"), sweep=RECONFIGURE),
        Parameter("health_check_interval", int, 10, "Route 53 RequestInterval in seconds",
                  choices=HEALTH_CHECK_INTERVALS, sweep=RECONFIGURE),
        Parameter("health_check_failure_threshold", int, 1, "consecutive observations to change state (1-10)",
                  check=_within(lambda v: 1 <= v <= 10, "Route 53 allows 1 to 10"), sweep=RECONFIGURE),
    )),
    ("the chaos experiment (06)", (
        Parameter("fault", str, "health_status", "what the chaos step breaks; notebook 06 explains each",
                  choices=tuple(kind.name for kind in FAULT_KINDS), sweep=PER_RUN),
        Parameter("faulty_region", str, "", 'the region it breaks; "" means the first of regions', sweep=PER_RUN),
        Parameter("steady_s", float, 60.0, "AWS seconds of steady load before the fault",
                  check=_within(lambda v: 0 < v <= MAX_PHASE_S, f"a duration in seconds, greater than 0 and at most {MAX_PHASE_S:g}"), sweep=PER_RUN),
        Parameter("hold_s", float, 90.0, "AWS seconds the fault lasts",
                  check=_within(lambda v: 0 < v <= MAX_PHASE_S, f"a duration in seconds, greater than 0 and at most {MAX_PHASE_S:g} "
                                                    f"(FIS ends the runbook's faults after {MAX_FAULT_HOURS} h)"), sweep=PER_RUN),
        Parameter("recovery_s", float, 90.0, "AWS seconds of load after the repair",
                  check=_within(lambda v: 0 < v <= MAX_PHASE_S, f"a duration in seconds, greater than 0 and at most {MAX_PHASE_S:g}"), sweep=PER_RUN),
        Parameter("load_clients", int, 6, "virtual clients, each with its own DNS cache",
                  check=_within(lambda v: 1 <= v <= 64, "between 1 and 64 virtual clients"), sweep=PER_RUN),
        Parameter("request_rate", float, 4.0, "requests per second per client",
                  check=_within(lambda v: 0 < v <= 50, "requests per second per client, greater than 0 and at most 50"), sweep=PER_RUN),
        Parameter("client_dns_cache", str, "ttl", "how the virtual clients cache DNS answers (helpers/client_model.py)",
                  choices=DNS_CACHE_MODES, sweep=PER_RUN),
        Parameter("client_on_failure", str, "none", "what a virtual client does when a request fails",
                  choices=ON_FAILURE_MODES, sweep=PER_RUN),
    )),
    ("the consistency lab (07)", (
        Parameter("consistency_lab", bool, True, "run the MREC vs MRSC lab (two more tables, one with a witness)"),
        Parameter("partition_s", float, 20.0, "AWS seconds the lab's partition lasts at least",
                  check=_within(lambda v: 0 < v <= MAX_PHASE_S, f"a duration in seconds, greater than 0 and at most {MAX_PHASE_S:g}")),
        Parameter("consistency_updates", int, 6, "updates per lab client and phase (the workload size)",
                  check=_within(lambda v: 1 <= v <= 200, "between 1 and 200 updates")),
    )),
    ("running on AWS", (
        Parameter("dry_run", bool, False, "list the mutating calls, make none"),
        Parameter("acknowledge_costs", bool, False, "required with backend aws: the stack costs money while it exists"),
        Parameter("aws_profile", str, "", 'a named AWS profile; "" means the default credential chain'),
    )),
    ("where things are", (
        Parameter("localcloud_state_dir", str, "", 'the local cloud\'s state directory; "" means .localcloud/ '
                  "in the project", check=_path_or(DEFAULT_STATE_DIR)),
        Parameter("run_dir", str, "", 'where artifacts go; "" means reports/interactive/ (the runner sets '
                  "its report directory)", check=_path_or(DEFAULT_RUN_DIR)),
    )),
)

PARAMETERS: tuple[Parameter, ...] = tuple(p for _, group in GROUPS for p in group)
PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS}


def _shown(value: Any) -> str:
    """A value for an error message, shortened (an integer of 400 digits is no help)."""
    shortener = reprlib.Repr()
    shortener.maxstring, shortener.maxother, shortener.maxlong = 80, 80, 40
    return shortener.repr(value)


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"parameter {name!r} has value {_shown(value)}: {allowed}")


# --------------------------------------------------------------- checks across parameters
def _domain_inside_zone(values: dict[str, Any]) -> None:
    zone, name = values["hosted_zone"], values["domain_name"]
    if not name.endswith("." + zone):
        _fail("domain_name", name, f"expected a name inside the hosted zone {zone!r}, such as api.{zone}")


def _aws_runs_in_real_time(values: dict[str, Any]) -> None:
    if values["backend"] == "aws" and values["time_scale"] != 1.0:
        _fail("time_scale", values["time_scale"], "AWS runs in real time: use 1.0 with backend 'aws'")


def _fault_available(values: dict[str, Any]) -> None:
    if values["backend"] != "local":
        local_only = [k.name for k in FAULT_KINDS if k.local_only]
        if values["fault"] in local_only:
            aws = ", ".join(k.name for k in FAULT_KINDS if not k.local_only)
            _fail("fault", values["fault"], f"only the local cloud can do this fault; on AWS use {aws}")


def _faulty_region_is_a_region(values: dict[str, Any]) -> None:
    """An unset faulty_region is the first region, so changing ``regions`` alone is enough."""
    region = values["faulty_region"] or values["regions"][0]
    if region not in values["regions"]:
        _fail("faulty_region", region, f"must be one of the configured regions: {', '.join(values['regions'])}")
    values["faulty_region"] = region


def _mrsc_regions_on_aws(values: dict[str, Any]) -> None:
    """The lab's MRSC table needs the regions in one MRSC Region set (checked before anything is created on AWS;
    the local cloud refuses the same layout when the lab creates the table)."""
    if values["backend"] == "aws" and values["consistency_lab"]:
        regions = list(values["regions"])
        witness = None
        if len(regions) == 2:
            same_set = MRSC_REGION_SETS.get(region_set_of(regions[0]) or "", ())
            witness = next((r for r in same_set if r not in regions), None)
        problem = mrsc_layout_error(regions, [witness] if witness else [])
        if problem:
            _fail("regions", regions, f"the consistency lab's MRSC table needs two or three regions of one MRSC Region "
                  f"set ({describe_region_sets()}): {problem}; or set consistency_lab to false")


def _costs_acknowledged(values: dict[str, Any]) -> None:
    if values["backend"] == "aws" and not values["acknowledge_costs"] and not values["dry_run"]:
        _fail("acknowledge_costs", values["acknowledge_costs"], "backend 'aws' creates billable resources: set "
              "acknowledge_costs to true (or dry_run to true to only list the calls)")


# Run in this order after every value passed its own check; each may also settle a value (faulty_region).
RULES: tuple[Callable[[dict[str, Any]], None], ...] = (
    _domain_inside_zone, _aws_runs_in_real_time, _fault_available, _faulty_region_is_a_region, _mrsc_regions_on_aws,
    _costs_acknowledged,
)


def check_parameter_names(names: Mapping[str, Any] | list[str]) -> None:
    """Reject names that are not runbook parameters (a typo must not be silently ignored)."""
    unknown = sorted(set(names) - set(PARAMETER_NAMES))
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, PARAMETER_NAMES, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"unknown parameter(s) {', '.join(hints)}; known parameters: {', '.join(PARAMETER_NAMES)}")


def check(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value to use (missing ones take their defaults), or a ConfigError naming the first bad one."""
    check_parameter_names(params)
    values = {p.name: p.parse(params.get(p.name, p.default)) for p in PARAMETERS}
    for rule in RULES:
        rule(values)
    return values


# ------------------------------------------------------------------------ parameter files
def _yaml_problem(error: yaml.YAMLError) -> str:
    """``line L, column C: problem`` of a YAML error, without the parser's traceback."""
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return where + (getattr(error, "problem", None) or str(error).splitlines()[0])


def load_parameters(files: list[str | Path], overrides: list[tuple[str, str]]) -> dict[str, Any]:
    """Merge parameter files in order, then ``-p NAME VALUE`` overrides (values parsed as YAML)."""
    params: dict[str, Any] = {}
    for path in files:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"parameter file {path} does not exist") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"parameter file {path} is not valid YAML: {_yaml_problem(error)}") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ConfigError(f"parameter file {path} must hold a mapping of parameter names to values")
        params.update(data)
    for name, value in overrides:
        try:
            params[name] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise ConfigError(f"parameter {name!r}: the value {value!r} given with -p is not valid YAML "
                              f"({_yaml_problem(error)}); quote it") from None
    return params


# ------------------------------------------------------------------------ generated text
def _python(value: Any) -> str:
    """``value`` as a Python literal for a parameters cell (lists, not tuples, as papermill writes them)."""
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _yaml(value: Any) -> str:
    """``value`` as YAML on one line (``""`` for the empty string, as the README shows it)."""
    if value == "":
        return '""'
    text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value, default_flow_style=True,
                          width=10**6).strip()
    return text.removesuffix("\n...").strip()


def _aligned(rows: list[tuple[str, str] | str]) -> str:
    """Lines of ``code  # comment`` with the comments in one column; a plain string is a line of its own."""
    width = max(len(r[0]) for r in rows if isinstance(r, tuple)) + 2
    return "\n".join(r if isinstance(r, str) else f"{r[0]:<{width}}# {r[1]}" for r in rows)


def render_cell() -> str:
    """The source of every notebook's ``parameters`` cell."""
    rows: list[tuple[str, str] | str] = [
        "# Runbook parameters: papermill and `runbook run` replace these values. Every notebook declares",
        "# all of them; the defaults come from helpers/parameters.py (`make params` writes this cell).",
    ]
    for title, group in GROUPS:
        rows += ["", f"# {title}"]
        rows += [(f"{p.name}: {p.type.__name__} = {_python(p.default)}", p.comment) for p in group]
    return _aligned(rows)


def render_local_yaml() -> str:
    """parameters/local.yaml: the default run, every parameter at its default."""
    rows: list[tuple[str, str] | str] = [
        "# The default run (`make runbook`): every parameter at its default, the values the notebooks'",
        "# parameters cells hold. Generated by `make params` from helpers/parameters.py: change a default",
        "# there, not here. To change one run, layer a file or an option on top:",
        "#   .venv/bin/runbook run -f parameters/local.yaml -f my.yaml -p time_scale 0.05",
    ]
    for title, group in GROUPS:
        rows += ["", f"# {title}"]
        rows += [(f"{p.name}: {_yaml(p.default)}", p.comment) for p in group]
    return _aligned(rows) + "\n"


def render_readme_table() -> str:
    """The README's parameters table (what goes between the markers)."""
    lines = ["| parameter | default | meaning |", "|---|---|---|"]
    lines += [f"| `{p.name}` | `{_yaml(p.default)}` | {p.comment.replace('|', '/')} |" for p in PARAMETERS]
    return "\n".join(lines)


def readme_with_table(text: str) -> str:
    """``text`` (the README) with the generated table between the markers; ConfigError if they are missing."""
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise ConfigError(f"{README.name} has no '{README_BEGIN}' ... '{README_END}' markers (in this order): put them "
                          "where the parameters table goes, then run `make params`")
    return text[:begin + len(README_BEGIN)] + "\n" + render_readme_table() + "\n" + text[end:]


def parameters_cell(nb: Any, path: Path) -> Any:
    """The one cell of ``nb`` tagged ``parameters``."""
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"{path} has {len(cells)} cells tagged 'parameters', expected exactly one")
    return cells[0]


def notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks whose parameters cell is generated: the runbook's, and (for the runbook's own
    ``notebooks/``) the test fixtures the runner runs, which must declare the same set."""
    found = sorted(directory.glob("[0-9][0-9]_*.ipynb"))
    if directory == NOTEBOOKS_DIR:
        found += sorted(FIXTURE_NOTEBOOKS_DIR.glob("*/[0-9][0-9]_*.ipynb"))
    return found


def drift() -> list[str]:
    """What disagrees with the declarations, one line each (empty when everything is generated and current)."""
    import nbformat

    found = []
    for path in notebooks():
        if parameters_cell(nbformat.read(str(path), as_version=4), path).source != render_cell():
            found.append(f"{path.relative_to(PROJECT_ROOT)}: the parameters cell differs")
    if not LOCAL_YAML.exists() or LOCAL_YAML.read_text() != render_local_yaml():
        found.append(f"{LOCAL_YAML.relative_to(PROJECT_ROOT)} differs")
    try:
        if readme_with_table(README.read_text()) != README.read_text():
            found.append(f"{README.name}: the parameters table differs")
    except ConfigError as error:
        found.append(str(error))
    return found


def write_notebook(path: Path) -> bool:
    """Rewrite one notebook's parameters cell; True if it changed."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cell = parameters_cell(nb, path)
    if cell.source == render_cell():
        return False
    cell.source = render_cell()
    nbformat.write(nb, str(path))
    return True


def write(directory: Path = NOTEBOOKS_DIR, echo: Callable[[str], None] = print) -> None:
    """Rewrite the notebooks' parameters cells, local.yaml and the README table, echoing each file changed.

    Everything that can be written is; missing README markers then raise ConfigError.
    """
    for path in notebooks(directory):
        if write_notebook(path):
            echo(f"wrote {path}")
    if not LOCAL_YAML.exists() or LOCAL_YAML.read_text() != render_local_yaml():
        LOCAL_YAML.write_text(render_local_yaml())
        echo(f"wrote {LOCAL_YAML}")
    text = README.read_text()
    updated = readme_with_table(text)
    if updated != text:
        README.write_text(updated)
        echo(f"wrote {README}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.parameters", description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the parameters cells, local.yaml and the README table")
    action.add_argument("--check", action="store_true", help="list what differs from the declarations (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    try:
        write()
    except ConfigError as error:
        print(f"make params: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
