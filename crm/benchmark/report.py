"""Present a benchmark run: ratios, targets, a terminal table, JSON and a plot.

Files go to ``var/benchmarks/``: ``benchmark-<vendor>-<timestamp>.json``
for the run, ``latest-<vendor>.json`` with the newest result of every
(job, size, path) seen on that database, and ``benchmark-<vendor>.png``
drawn from the latest file, so runs of one size at a time add up to one
plot across sizes.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crm.benchmark.jobs import JOBS, QUERY_BUDGETS, SILK_TARGET_PERCENT
from crm.benchmark.runner import BenchmarkRun

logger = logging.getLogger(__name__)

SPEEDUP_TARGET = 20
SPEEDUP_JOBS = ("rescore-sync", "rescore-full", "birthdays", "overdue", "push")
SPEEDUP_SIZE = 100_000
FLOOR_TARGET = 2
OURS_PATHS = ("ours", "ours-api", "ours-sql")
PATH_STYLES = {
    "before": ("tab:red", "o", "-"),
    "ours": ("tab:green", "s", "-"),
    "ours-api": ("tab:blue", "^", "--"),
    "ours-sql": ("tab:olive", "v", "-."),
    "floor": ("tab:gray", "x", ":"),
}


def add_ratios(results: list[dict]) -> list[dict]:
    """Set ``ratio_before`` (before / this) and ``ratio_floor`` (this / floor)."""
    medians = {(r["job"], r["size"], r["path"]): r["median_ms"] for r in results}
    for row in results:
        before = medians.get((row["job"], row["size"], "before"))
        floor = medians.get((row["job"], row["size"], "floor"))
        mine = row["median_ms"]
        row["ratio_before"] = (
            round(before / mine, 1)
            if before and mine and row["path"] in OURS_PATHS
            else None
        )
        row["ratio_floor"] = (
            round(mine / floor, 2)
            if floor and mine and row["path"] in OURS_PATHS
            else None
        )
    return results


def targets(results: list[dict], silk: list[dict]) -> list[dict]:
    """Return each issue target with what was measured and whether it is met."""
    checks = []
    for job, budget in QUERY_BUDGETS.items():
        rows = [r for r in results if r["job"] == job and r["path"] in OURS_PATHS]
        if not rows:
            continue
        path = "ours-api" if any(r["path"] == "ours-api" for r in rows) else "ours"
        rows = sorted((r for r in rows if r["path"] == path), key=lambda r: r["size"])
        counts = [r["queries"] for r in rows]
        checks.append(
            {
                "target": f"{job}: at most {budget} statements ({path}), flat in size",
                "measured": ", ".join(f"{r['size']:,}: {r['queries']}" for r in rows),
                "met": max(counts) <= budget,
            }
        )
    for job in SPEEDUP_JOBS:
        rows = [
            r
            for r in results
            if r["job"] == job and r["path"] in OURS_PATHS and r["size"] == SPEEDUP_SIZE
        ]
        if not rows:
            checks.append(
                {
                    "target": f"{job}: >= {SPEEDUP_TARGET}x faster at 100,000",
                    "measured": "not run at 100,000",
                    "met": None,
                }
            )
        for row in rows:
            checks.append(
                {
                    "target": f"{job} ({row['path']}): >= {SPEEDUP_TARGET}x faster "
                    "at 100,000",
                    "measured": f"{row['ratio_before']}x",
                    "met": (row["ratio_before"] or 0) >= SPEEDUP_TARGET,
                }
            )
    for row in results:
        if row["path"] in ("ours", "ours-sql") and row["ratio_floor"] is not None:
            checks.append(
                {
                    "target": f"{row['job']} ({row['path']}) at {row['size']:,}: "
                    f"within {FLOOR_TARGET}x of hand-written SQL",
                    "measured": f"{row['ratio_floor']}x",
                    "met": row["ratio_floor"] <= FLOOR_TARGET,
                }
            )
    for item in silk:
        if "overhead_percent" in item:
            checks.append(
                {
                    "target": f"silk overhead < {SILK_TARGET_PERCENT}% "
                    f"at {item['size']:,} (median)",
                    "measured": f"median {item['overhead_percent']}%, "
                    f"mean {item.get('mean_overhead_percent', '?')}%",
                    "met": item["target_met"],
                }
            )
    return checks


def _ms(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _same(row: dict) -> str:
    if row["path"] == "before":
        return "ref"
    ok = row["same_result"] and row["leak_free"] is not False
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def results_table(results: list[dict], *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("job", "size", "path", "queries"):
        table.add_column(
            column, justify="right" if column in ("size", "queries") else "left"
        )
    for column in (
        "median ms",
        "spread ms",
        "rows",
        "before/ours",
        "ours/floor",
        "same",
    ):
        table.add_column(column, justify="right")
    previous = None
    for row in results:
        group = (row["job"], row["size"])
        if previous is not None and group != previous:
            table.add_section()
        previous = group
        table.add_row(
            row["job"],
            f"{row['size']:,}",
            row["path"],
            str(row["queries"]),
            _ms(row["median_ms"]),
            f"{_ms(row['min_ms'])}–{_ms(row['max_ms'])} ({row['repeats']}x)",
            str(row["rows"]),
            f"{row['ratio_before']:,}x" if row["ratio_before"] else "",
            f"{row['ratio_floor']}x" if row["ratio_floor"] else "",
            _same(row),
        )
    return table


def print_report(console: Console, run: BenchmarkRun) -> list[dict]:
    """Print the results, silk and plans, and the targets; return the targets."""
    add_ratios(run.results)
    machine = run.machine
    console.print(
        f"[bold]Benchmark[/bold] {run.started_at} on {machine['database']}, "
        f"{machine['cpus']} CPUs, {machine['memory']}, Python {machine['python']}, "
        f"Django {machine['django']}"
    )
    console.print(results_table(run.results, title=f"Jobs ({run.vendor})"))
    for row in run.results:
        if row["note"]:
            console.print(
                f"  {row['job']} {row['size']:,} {row['path']}: {row['note']}"
            )
    if run.silk:
        silk = Table(title="silk on every request", title_justify="left")
        for column in (
            "size",
            "endpoint",
            "off ms",
            "on ms",
            "overhead",
            "mean off/on ms",
            "mean overhead",
            "queries off/on",
        ):
            silk.add_column(column)
        for item in run.silk:
            if "skipped" in item:
                console.print(f"silk: {item['skipped']}")
                continue
            silk.add_row(
                f"{item['size']:,}",
                item["endpoint"],
                _ms(item["median_off_ms"]),
                _ms(item["median_on_ms"]),
                f"{item['overhead_percent']}%",
                f"{_ms(item.get('mean_off_ms', 0))}/{_ms(item.get('mean_on_ms', 0))}",
                f"{item.get('mean_overhead_percent', '?')}%",
                f"{item['queries_off']}/{item['queries_on']}",
            )
        console.print(silk)
    if run.plans:
        plans = Table(title="Query plans", title_justify="left")
        for column in (
            "size",
            "job",
            "indexes used",
            "full scans",
            "narrowed by index",
        ):
            plans.add_column(column)
        for plan in run.plans:
            plans.add_row(
                f"{plan['size']:,}",
                plan["job"],
                ", ".join(plan["indexes"]) or "-",
                ", ".join(plan["full_scans"]) or "-",
                "[green]yes[/green]"
                if plan["uses_contact_index"]
                else "[red]no[/red] (every contact of the owner)"
                if plan.get("owner_wide_scan")
                else "[red]no[/red]",
            )
        console.print(plans)
    checks = targets(run.results, run.silk)
    table = Table(title="Targets", title_justify="left")
    for column in ("target", "measured", "met"):
        table.add_column(column)
    for check in checks:
        met = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "-"}[
            check["met"]
        ]
        table.add_row(check["target"], check["measured"], met)
    console.print(table)
    return checks


def _merged_latest(latest: Path, run: BenchmarkRun) -> dict:
    """Return the latest file's content with this run's results laid over it."""
    merged: dict = {"vendor": run.vendor, "results": [], "silk": [], "explain": []}
    if latest.exists():
        try:
            merged = json.loads(latest.read_text())
        except ValueError:
            logger.warning("ignoring unreadable %s", latest)
    fresh = {(r["job"], r["size"], r["path"]) for r in run.results}
    merged["results"] = [
        r
        for r in merged.get("results", [])
        if (r["job"], r["size"], r["path"]) not in fresh
    ] + run.results
    merged["results"].sort(
        key=lambda r: (
            JOBS.index(r["job"]) if r["job"] in JOBS else 99,
            r["size"],
            r["path"],
        )
    )
    silk_sizes = {item.get("size") for item in run.silk}
    merged["silk"] = [
        s for s in merged.get("silk", []) if s.get("size") not in silk_sizes
    ] + run.silk
    plan_sizes = {plan["size"] for plan in run.plans}
    merged["explain"] = [
        p for p in merged.get("explain", []) if p["size"] not in plan_sizes
    ] + run.plans
    add_ratios(merged["results"])
    merged.update(machine=run.machine, updated_at=run.started_at, vendor=run.vendor)
    merged["targets"] = targets(merged["results"], merged["silk"])
    return merged


def plot(results: list[dict], path: Path, *, title: str) -> Path:
    """Draw median time against contacts, log-log, one subplot per job."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = [job for job in JOBS if any(r["job"] == job for r in results)]
    columns = min(4, max(1, len(names)))
    rows = math.ceil(len(names) / columns) or 1
    figure, axes = pyplot.subplots(
        rows, columns, figsize=(4.2 * columns, 3.6 * rows), squeeze=False
    )
    for ax, job in zip(axes.flat, names, strict=False):
        for path_name, (color, marker, style) in PATH_STYLES.items():
            points = sorted(
                (r["size"], r["median_ms"])
                for r in results
                if r["job"] == job and r["path"] == path_name and r["median_ms"] > 0
            )
            if points:
                sizes, medians = zip(*points, strict=True)
                ax.plot(
                    sizes, medians, style, color=color, marker=marker, label=path_name
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(job)
        ax.set_xlabel("contacts")
        ax.set_ylabel("median ms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def write_outputs(
    run: BenchmarkRun, *, directory: Path, checks: list[dict]
) -> dict[str, Path]:
    """Write the run's JSON, the merged latest JSON and the plot; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = run.started_at.replace(":", "").replace("-", "").split("+")[0]
    run_file = directory / f"benchmark-{run.vendor}-{stamp}.json"
    run_file.write_text(
        json.dumps({**run.as_dict(), "targets": checks}, indent=2, default=str)
    )
    latest = directory / f"latest-{run.vendor}.json"
    merged = _merged_latest(latest, run)
    latest.write_text(json.dumps(merged, indent=2, default=str))
    image = plot(
        merged["results"],
        directory / f"benchmark-{run.vendor}.png",
        title=f"before vs ours, {run.machine['database']}",
    )
    return {"run": run_file, "latest": latest, "plot": image}
