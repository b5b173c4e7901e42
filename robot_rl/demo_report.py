"""The report of `robot-rl demo`: PNG plots and OUT/report.html from the results dict robot_rl/demo.py
builds (also written to OUT/results.json)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

FRAMES_PER_EPISODE = 6
"""Frames shown per practice episode in practice_frames.png, evenly spaced from its start to its end."""


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_before_after(before: dict, after: dict, path: Path) -> Path:
    """Success rates with their Wilson 95% intervals as error bars."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    for x, r in enumerate((before, after)):
        lo, hi = r["ci95"]
        p = r["success_rate"]
        ax.bar(x, p, color=("#999", "#2a7")[x], yerr=[[p - lo], [hi - p]], capsize=8)
        ax.text(x, hi + 0.03, f"{r['successes']}/{r['episodes']}", ha="center")
    ax.set_xticks([0, 1], ["offline policy", "fine-tuned"])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("success rate (mirror predicate)")
    ax.set_title("same evaluation scenes, 95% CI")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_learning_curve(run: dict, before: dict, after: dict, path: Path) -> Path:
    """Rolling practice success by the classifier (the learner's reward) and by the mirror's predicate,
    with the evaluations before and after as markers on the predicate's curve."""
    from robot_rl.rl.finetune import plot_curves

    records = run["records"]
    truth = [r | {"success": r["predicate_success"]} for r in records]
    curves = {"classifier reward (what the learner got)": records, "mirror predicate": truth}
    evals = {"mirror predicate": [(0, before["success_rate"]), (run["env_steps"], after["success_rate"])]}
    return plot_curves(curves, path, window=10, evals=evals,
                       title="fine-tuning (markers: evaluation before / after)")


def plot_training(run: dict, path: Path) -> Path:
    """Per practice episode: mean BC loss, critic TD loss and Q of the executed chunks; the dashed line
    marks the end of the warm-up (no updates before it, the critic pretrained at it)."""
    plt = _plt()
    recs = run["records"]
    names = (("bc_loss", "policy BC loss"), ("critic_loss", "critic TD loss"),
             ("q_chosen", "Q of executed chunks"))
    panels = [(k, t) for k, t in names if any(r.get(k) is not None for r in recs)]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4 * max(len(panels), 1), 3.2), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=False):
        pts = [(r["episode"], r[key]) for r in recs if r.get(key) is not None]
        ax.plot(*zip(*pts, strict=True), ".-")
        ax.axvline(run["warmup_episodes"] + 0.5, ls="--", color="#888")
        ax.set_xlabel("practice episode")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_practice_frames(store_path: Path, run: dict, path: Path, per_kind: int = 2) -> Path | None:
    """Front-camera frames of up to `per_kind` practice episodes that succeeded and that failed (by the
    mirror's predicate), titled with what the classifier declared."""
    from robot_rl.data.store import EpisodeStore

    recs = run["records"]
    wins = [r for r in recs if r["predicate_success"]][-per_kind:]
    fails = [r for r in recs if not r["predicate_success"]][-per_kind:]
    chosen = wins + fails
    if not chosen:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(chosen), FRAMES_PER_EPISODE, squeeze=False,
                             figsize=(1.6 * FRAMES_PER_EPISODE, 1.9 * len(chosen)))
    with EpisodeStore.open(store_path) as store:
        cam = next(k for k in store.keys if k.startswith("image/"))
        for row, rec in zip(axes, chosen, strict=True):
            frames = store.read_episode(rec["store_index"], [cam])[cam]
            steps = np.linspace(0, len(frames) - 1, FRAMES_PER_EPISODE).round().astype(int)
            for ax, t in zip(row, steps, strict=True):
                ax.imshow(frames[t])
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"step {t}", fontsize=7)
            verdict = "success" if rec["predicate_success"] else "failure"
            said = "declared success" if rec["success"] else "no success"
            row[0].set_ylabel(f"ep {rec['episode']}\n{verdict}\n(classifier:\n{said})", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------- HTML
def _rate(r: dict) -> str:
    lo, hi = r["ci95"]
    return f"{r['successes']}/{r['episodes']} = {r['success_rate']:.0%} (95% CI {lo:.0%}–{hi:.0%})"


def _num(v: Any, fmt: str = "{:.2f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def _classifier_rows(m: dict) -> list[tuple[str, Any]]:
    return [("frames (positives)", f"{m['frames']} ({m['positive_frames']})"),
            ("precision / recall per frame (after hysteresis)",
             f"{_num(m['precision'])} / {_num(m['recall'])}"),
            ("false-positive rate per frame", _num(m["frame_fpr"], "{:.3f}")),
            ("episodes: first flag right / early / missed",
             f"{m['first_flag_right']} / {m['first_flag_early']} / {m['first_flag_missed']}"),
            ("first-flag precision / recall (what ends an episode)",
             f"{_num(m['first_flag_precision'])} / {_num(m['first_flag_recall'])}"),
            ("frames from the task done to the flag: mean / max", f"{_num(m['delay_mean'], '{:.1f}')} / "
                                                                  f"{_num(m['delay_max'], '{}')}")]


def _img(name: str, out: Path) -> str:
    return f'<img src="{name}">' if (out / name).exists() else f"<p>({html.escape(name)} not written)</p>"


def _summary(r: dict) -> str:
    before, after, clf, ft = r["before"], r["after"], r["classifier"], r["finetune"]
    return _table([
        ("task", r["task"]), ("run", "full" if r["full"] else "quick"),
        ("offline policy (before fine-tuning)", _rate(before)), ("after fine-tuning", _rate(after)),
        ("change in success rate", f"{100 * (after['success_rate'] - before['success_rate']):+.0f} "
                                   f"percentage points (the same {before['episodes']} evaluation scenes)"),
        ("reward classifier, held-out demo frames: precision / recall",
         f"{_num(clf['held_out']['precision'])} / {_num(clf['held_out']['recall'])}"),
        ("reward classifier, the policy's practice frames: precision / recall",
         f"{_num(ft['reward_on_policy']['precision'])} / {_num(ft['reward_on_policy']['recall'])}"),
        ("policy chunk latency p50 (offline / fine-tuned best-of-N)",
         f"{before['chunk_ms_p50']:.0f} ms / {after['chunk_ms_p50']:.0f} ms"),
        ("recording: wall s per demonstration", f"{r['collection']['s_per_episode']:.1f} s"),
        ("store writes, 2x 480x640 @ 30 Hz", f"{r['recording']['write_realtime_factor']:.1f}x real time"),
        ("total wall time (CPU time)", f"{sum(r['timings'].values()) / 60:.1f} min "
                                       f"({sum(r['cpu_s'].values()) / 60:.1f} min)")])


def _demos(out: Path, r: dict) -> str:
    col, chk = r["collection"], r["store"]
    how = ("over ROS 2: sim_node, expert_teleop (the scripted expert as the operator's teleop device), "
           "teleop_bridge and recorder_node as separate processes, episodes driven through the recorder's "
           "services" if col["collector"] == "ros" else "in-process (--no-ros)")
    keys = "".join(f"<tr><td>{html.escape(k)}</td><td>{tuple(v['shape'])}</td><td>{v['dtype']}</td>"
                   f"<td>{html.escape(v['units'])}</td><td>{html.escape(v['frame'])}</td></tr>"
                   for k, v in chk["summary"]["keys"].items())
    return (f"<p>Recorded {html.escape(how)}.</p>" + _table([
        ("episodes / steps", f"{chk['episodes']} / {chk['steps']}"),
        ("labelled successful by the operator", f"{chk['demo_success_rate']:.0%}"),
        ("mean episode length", f"{chk['mean_episode_length']:.1f} steps"),
        ("wall s per episode (reset, record, label, save)", f"{col['s_per_episode']:.1f}"),
        ("camera steps without a fresh frame (gaps)", chk["camera_gaps"]),
        ("store size", f"{chk['store_bytes'] / 2**20:.1f} MiB")])
        + "<h3>Recorded keys</h3><table><tr><th>key</th><th>shape</th><th>dtype</th><th>units</th>"
        f"<th>frame</th></tr>{keys}</table><h3>Episode 0</h3>"
        + _img("episode0.png", out) + _img("episode0_frames.png", out))


def _offline(r: dict) -> str:
    pol, ft = r["policy"], r["finetune"]
    return _table([
        ("diffusion chunk policy", f"{pol['steps']} steps on state observations, {pol['seconds']:.0f} s"),
        ("chunked critic", f"pretrained offline when the warm-up ends: {ft['critic_pretrain_steps']} TD "
                           f"steps on the demos + the {ft['warmup_episodes']} warm-up episodes"),
        ("offline policy success", _rate(r["before"]))])


def _classifier(out: Path, r: dict) -> str:
    clf, sel = r["classifier"], r["classifier"]["selection"]
    return (f"<p>Trained on the recorder's labels ({html.escape(clf['labels'])}: the operator's success "
            f"label, i.e. the last frames of each successful demonstration) from {clf['train_episodes']} "
            f"demonstrations and every frame of {clf['failed_train_episodes']} failed attempts of the "
            f"offline policy (recorded during its evaluation); threshold {sel['threshold']:.5f} with "
            f"{sel['k']}-frame hysteresis chosen on {clf['val_episodes']} + {clf['failed_val_episodes']} "
            "held-out episodes. "
            "Scored against the mirror's per-frame predicate:</p>"
            "<h3>Held-out demonstration frames</h3>" + _table(_classifier_rows(clf["held_out"]))
            + "<h3>Held-out failed attempts (every frame a failure)</h3>"
            + _failures(clf["held_out_failures"])
            + "<h3>The policy's own frames during fine-tuning (what the learner was rewarded on)</h3>"
            "<p>An episode ends at the first flag, so per-frame recall counts the frames between the task "
            "being done and the flag; the episode rows say what each reward was worth.</p>"
            + _table(_classifier_rows(r["finetune"]["reward_on_policy"]))
            + "<h3>Hardest mistakes on held-out frames</h3>" + _img("reward/mistakes.png", out))


def _failures(m: dict | None) -> str:
    if m is None:
        return "<p>(none held out: the offline policy failed fewer than two evaluation episodes)</p>"
    return _table([("frames", m["frames"]), ("false-positive rate per frame", _num(m["frame_fpr"], "{:.3f}")),
                   ("episodes flagged as a success", _num(m["episode_fp_rate"], "{:.0%}"))])


def _reading(r: dict) -> str:
    """What the numbers allow one to conclude, said in the report itself."""
    b, a, ft = r["before"], r["after"], r["finetune"]
    m, n = ft["reward_on_policy"], len(ft["records"])
    wins = sum(x["predicate_success"] for x in ft["records"])
    lines = [f"In practice the task truly succeeded (mirror predicate) in {wins} of {n} episodes; the "
             f"classifier ended {m['first_flag_right'] + m['first_flag_early']} episodes as successes, "
             f"{m['first_flag_early']} of them wrongly, and missed {m['first_flag_missed']}."]
    if wins == 0:
        lines.append("With no true success in practice its rewards taught nothing real: a change after "
                     "fine-tuning comes from the continued BC updates on the demonstrations and from "
                     "best-of-N by a critic that learned success from the demonstrations alone.")
    own = " and its own successes" if ft["learner"].get("imitate_successes") else ""
    lines.append(f"Fine-tuning ran {ft['updates']} policy updates (BC on the demonstrations{own}) after the "
                 f"{r['policy']['steps']} offline steps.")
    overlap = a["ci95"][0] <= b["ci95"][1] and b["ci95"][0] <= a["ci95"][1]
    verdict = "overlap: the difference is not significant" if overlap else "do not overlap"
    lines.append(f"The 95% intervals before and after {verdict} at {b['episodes']} evaluation episodes.")
    return "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"


def _finetune(out: Path, r: dict) -> str:
    ft = r["finetune"]
    return _table([
        ("practice episodes / environment steps / updates",
         f"{ft['episodes']} / {ft['env_steps']} / {ft['updates']}"),
        ("critic TD steps", ft["critic_steps"]), ("wall time", f"{ft['seconds'] / 60:.1f} min"),
        ("resets: scripted / rejected by the start-state check (then the operator's stand-in, a teleport)",
         f"{ft['resets']['scripted']} / {ft['resets']['rejected']}"),
        ("start TCP height: practice (after scripted resets) / demonstrations (teleported scenes, as the "
         "evaluation's)", f"{_num(ft['start_tcp_z'], '{:.3f}')} / {r['store']['start_tcp_z']:.3f} m"),
        ("practice success: classifier / mirror predicate",
         f"{ft['classifier_success_rate']:.0%} / {ft['predicate_success_rate']:.0%}")]) \
        + _img("curve.png", out) + _img("training.png", out)


def _latency(r: dict) -> str:
    def ms(e: dict) -> str:
        return f"{e['chunk_ms_p50']:.1f} / {e['chunk_ms_p99']:.1f} ms"

    return _table([("offline policy, one sample: p50 / p99", ms(r["before"])),
                   ("fine-tuned actor, best-of-N: p50 / p99", ms(r["after"])),
                   ("budget", "8 actions per chunk at 10 Hz: 800 ms")])


def _throughput(r: dict) -> str:
    rec = r["recording"]
    return _table([("store: real-time factor, 2 cameras 480x640 @ 30 Hz + arm state",
                    f"{rec['write_realtime_factor']:.1f}x"),
                   ("append p99", f"{rec['append_p99_ms']:.1f} ms"),
                   ("bytes per 480x640 frame",
                    f"{rec['bytes_per_frame']:,.0f} of {rec['raw_bytes_per_frame']:,}"),
                   ("demonstrations: wall s per episode", f"{r['collection']['s_per_episode']:.1f}")])


def _timings(r: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(k.removesuffix('_s'))}</td><td>{v:.0f}</td>"
                   f"<td>{r['cpu_s'].get(k, float('nan')):.0f}</td></tr>" for k, v in r["timings"].items())
    return ("<p>CPU time counts this process and the ROS node processes; on a shared machine it is what a "
            "stage costs on free cores.</p><table><tr><th>stage</th><th>wall s</th><th>CPU s</th></tr>"
            f"{rows}</table>")


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
         "td,th{padding:2px 12px;text-align:left}img{max-width:100%;border:1px solid #ccc;margin:4px 0}")


def write_report(out: Path, r: dict) -> Path:
    """OUT/report.html from the results dict (see robot_rl/demo.py)."""
    sections = [
        ("Summary", _summary(r)), ("1. Demonstrations", _demos(out, r)), ("2. Offline training", _offline(r)),
        ("3. Success classifier (reward)", _classifier(out, r)), ("4. Fine-tuning", _finetune(out, r)),
        ("5. Before and after", _table([("offline policy", _rate(r["before"])),
                                        ("fine-tuned (best-of-N by the critic)", _rate(r["after"]))])
         + _reading(r) + _img("before_after.png", out)),
        ("6. Policy latency", _latency(r)), ("7. Recording throughput", _throughput(r)),
        ("8. Practice episodes", "<p>Front camera; rows are episodes the mirror's predicate judged "
         "successful, then failed; the label says what the classifier declared.</p>"
         + _img("practice_frames.png", out)),
        ("Stage times", _timings(r)),
    ]
    title = f"robot_rl demo: {html.escape(r['task'])} on the MuJoCo mirror"
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style>'
            f"</head><body><h1>{title}</h1><p>Success is always the mirror's privileged predicate on fixed "
            f"evaluation scenes (seeds {r['eval_seed']}..); the classifier's reward is only what fine-tuning "
            "learned from. The same steps on a real rig: README, \"make demo on a real rig\".</p>"
            + "".join(f"<h2>{html.escape(t)}</h2>{body}" for t, body in sections) + "</body></html>")
    path = out / "report.html"
    path.write_text(page)
    return path
