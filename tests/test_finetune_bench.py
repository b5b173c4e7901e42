"""`robot-rl bench finetune` at toy size: every variant runs, the later ones get the first's environment
steps (or --env-steps), and the JSON and curve PNG are written."""

import json

import torch

from robot_rl.bench.finetune_bench import FinetuneBenchConfig, run

torch.set_num_threads(1)


def test_finetune_bench_toy_size(tmp_path):
    cfg = FinetuneBenchConfig(json=tmp_path / "ft.json", tasks=("pick_cube",), algos=("bc", "rlpd"), demos=2,
                              pretrain_steps=4, minutes=0.05, max_episodes=3, eval_episodes=1,
                              keep=tmp_path / "work")
    run(cfg)
    r = json.loads(cfg.json.read_text())
    algos = r["tasks"]["pick_cube"]["algos"]
    assert r["tasks"]["pick_cube"]["start"]["episodes"] == 1 and set(algos) == {"bc", "rlpd"}
    steps = algos["bc"]["env_steps"]
    assert steps > 0 and algos["rlpd"]["env_steps"] >= steps  # the same budget in steps, whole episodes
    assert algos["bc"]["intervention_episodes"] >= 1  # the operator takes over a 4-step policy's mistakes
    assert (tmp_path / "ft_pick_cube.png").stat().st_size > 5_000
    assert "target_pick_cube>=0.9_within_30min" not in r  # the first variant is not Q-chunking
    # a rerun of one variant with the steps given: the kept checkpoint is reused, not retrained
    again = FinetuneBenchConfig(json=tmp_path / "bc.json", tasks=("pick_cube",), algos=("bc",), demos=2,
                                pretrain_steps=4, env_steps=steps, max_episodes=3, eval_episodes=1,
                                keep=tmp_path / "work")
    r2 = run(again)
    assert r2["tasks"]["pick_cube"]["pretrain_minutes"] < 0.01
    assert r2["tasks"]["pick_cube"]["algos"]["bc"]["env_steps"] >= steps
