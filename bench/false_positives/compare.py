#!/usr/bin/python3
"""Puts the false-positive sweeps of several systems side by side: for each network profile, each
system's fastest setting with zero false removals and its detection time, the ratio to roster's,
and one plot with every system's trade-off curve.

    /usr/bin/python3 bench/false_positives/compare.py results/roster.json results/zookeeper.json \
        results/etcd.json [--plot results/compare.png]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from false_positives import best_zero, profile_text  # noqa: E402

COLORS = {"roster": "tab:blue", "zookeeper": "tab:orange", "etcd": "tab:green"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", help="JSON files written by false_positives.py --out")
    ap.add_argument("--plot", default=None, help="PNG (default: compare.png next to the first report)")
    a = ap.parse_args()
    # Reports of one system (e.g. a 10-minute run of one setting and a shorter sweep) are merged.
    reports = []
    for p in a.reports:
        r = json.load(open(p))
        same = next((x for x in reports if x["system"] == r["system"]), None)
        if same:
            same["runs"] += r["runs"]
            same["command"] += "` and `" + r["command"]
            same["config"]["minutes"] = min(same["config"]["minutes"], r["config"]["minutes"])
        else:
            reports.append(r)
    profiles = [p for p in reports[0]["profiles"] if all(p in r["profiles"] for r in reports)]
    print("Commands:")
    for r in reports:
        print(f"- `{r['command']}` ({r['date']}, soaks of {r['config']['minutes']:g} min or more)")
    for profile in profiles:
        print(f"\n### {profile_text(profile)}\n")
        print("| system | settings tried | fastest setting with 0 false removals | detection median ms | "
              "p90 ms | × roster's median |")
        print("| --- | ---: | --- | ---: | ---: | ---: |")
        best = {r["system"]: best_zero([x for x in r["runs"] if x["profile"] == profile]) for r in reports}
        base = best.get("roster")
        for r in reports:
            b = best[r["system"]]
            tried = len([x for x in r["runs"] if x["profile"] == profile])
            if b is None:
                print(f"| {r['system']} | {tried} | none | - | - | - |")
                continue
            d = b["detection"]
            ratio = f"{d['median_ms'] / base['detection']['median_ms']:.2f}" if base else "-"
            print(f"| {r['system']} | {tried} | {b['label']} | {d['median_ms']:.0f} | {d['p90_ms']:.0f} | {ratio} |")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker
    fig, axes = plt.subplots(1, len(profiles), figsize=(8 * len(profiles), 5.6), squeeze=False)
    for ax, profile in zip(axes[0], profiles):
        top = 10.0
        labels = 0
        for r in reports:
            runs = sorted((x for x in r["runs"] if x["profile"] == profile and
                           (x.get("detection") or {}).get("median_ms") and x.get("false_removals_per_hour") is not None),
                          key=lambda x: x["detection"]["median_ms"])
            xs = [x["detection"]["median_ms"] for x in runs]
            ys = [x["false_removals_per_hour"] for x in runs]
            top = max([top] + [2 * y for y in ys])
            color = COLORS.get(r["system"], "tab:gray")
            ax.plot(xs, ys, "o", color=color, label=r["system"])
            for x, xv, yv in zip(runs, xs, ys):
                # Cycle the label heights: settings with zero false removals sit on one line.
                dy = (8, -14, 22, -28)[labels % 4]
                labels += 1
                ax.annotate(x["label"], (xv, yv), textcoords="offset points", xytext=(4, dy), fontsize=7,
                            color=color)
            b = best_zero([x for x in r["runs"] if x["profile"] == profile])
            if b:
                ax.plot([b["detection"]["median_ms"]], [0], marker="*", markersize=16, color=color,
                        linestyle="none")
        ax.set_xscale("log")
        ax.set_xticks([t for t in (100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000)
                       if any(t / 1.6 <= x["detection"]["median_ms"] <= t * 1.6 for r in reports
                              for x in r["runs"] if (x.get("detection") or {}).get("median_ms"))])
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(-1.0, top)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("median detection time after kill -9 (ms, log)")
        ax.set_ylabel("false removals per hour (symlog)")
        ax.set_title(f"{profile_text(profile)}\nstar: fastest setting with zero false removals", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path = a.plot or os.path.join(os.path.dirname(os.path.abspath(a.reports[0])), "compare.png")
    fig.savefig(path, dpi=120)
    print(f"\nplot: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
