"""Act latency of the default policy (perceiver + query heads) at the benchmark sizes: where it goes, and
against an earlier revision.

One full autoregressive action, batch 1, 512 entities, 64x64 map, 8 selection steps (``bench/policy.py``'s
act sizes), one thread, through ``AlphaStarPolicy.act`` (the rollout path: a jit trace of the pass,
``agents.nets.traced_step``):

1. breakdown: FLOPs (``perceiver_rl.flops.count_flops``) and median time (wall clock and the process's CPU
   time) of each stage of one action, every stage fed the outputs of the one before (eager), and the whole
   action through ``policy.act`` (traced) and eagerly (``policy(obs)``, the same numbers), timed interleaved;
2. ``--baseline REV``: the same action with the policy of git revision ``REV`` (its files from ``git archive``
   imported beside the working tree's; through its ``policy.act`` where it has one, else its forward under
   ``torch.inference_mode``), the two timed interleaved in this process: wall clock and the
   process's CPU time per call (CPU time is what the other load on a shared machine disturbs least).

    python bench/act_latency.py [--baseline REV] [--repeats 30]

Prints tables, then one JSON line (last).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _common import print_json, print_table, sgemm_peak_flops, time_interleaved  # noqa: E402
from policy import ACT, TYPES, observation, specs  # noqa: E402

from agents.nets.policy import AlphaStarPolicy, PolicyConfig  # noqa: E402
from perceiver_rl.flops import count_flops  # noqa: E402

PACKAGES = ("agents", "envs", "perceiver_rl")
ACTION = "full action (policy.act, traced)"
EAGER = "full action, eager (policy(obs))"


def import_revision(rev: str, into: Path) -> tuple[ModuleType, ModuleType]:
    """The policy module and ``envs.spec`` of git revision ``rev``, imported beside the working tree's modules
    (which stay what ``import agents`` gives). The policy is ``agents/nets/policy.py``, or ``agents/policy.py`` in
    revisions before the layered layout."""
    tar = subprocess.run(["git", "archive", rev, *PACKAGES], cwd=ROOT, check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(into, filter="data")
    ours = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] in PACKAGES}
    sys.path.insert(0, str(into))
    try:
        layered = (into / "agents" / "nets" / "policy.py").exists()
        policy = importlib.import_module("agents.nets.policy" if layered else "agents.policy")
        return policy, importlib.import_module("envs.spec")
    finally:
        sys.path.remove(str(into))
        for k in [k for k in sys.modules if k.split(".")[0] in PACKAGES]:
            del sys.modules[k]
        sys.modules.update(ours)


def baseline_policy(rev: str, into: Path) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """The default policy of revision ``rev`` at the act sizes, and its observation."""
    policy_mod, spec_mod = import_revision(rev, into)
    obs_spec, act_spec = specs(ACT["entities"], ACT["size"], ACT["selected"])

    def same(cls: type, value: object) -> object:  # the revision's dataclass with the fields it knows
        return cls(**{f.name: getattr(value, f.name) for f in dataclasses.fields(cls) if hasattr(value, f.name)})

    types = tuple(same(spec_mod.ActionType, t) for t in TYPES)
    old_obs = same(spec_mod.ObservationSpec, obs_spec)
    old_act = spec_mod.ActionSpec(types, max_entities=act_spec.max_entities, max_selected=act_spec.max_selected,
                                  spatial_size=act_spec.spatial_size)  # fmt: skip
    policy = policy_mod.AlphaStarPolicy(old_obs, old_act, policy_mod.PolicyConfig()).eval()
    return policy, observation(obs_spec, 1)


def breakdown(policy: AlphaStarPolicy, obs: dict[str, torch.Tensor], repeats: int) -> list[dict]:
    """FLOPs and interleaved median ms of each stage of one sampled action (``policy.act``)."""
    p, torso_mod = policy, policy.torso
    with torch.no_grad():
        flat, lead = p._prepare(obs)
        torso, _ = torso_mod(flat, lead, None)
        stage1 = p.heads.stage1(torso)
        action_type = p.act(obs).actions["action_type"]
        ar, condition = p.arguments.embed_action_type(torso.state, action_type)
        features = p.heads.stage2(torso, stage1, condition)
        masks = p._argument_masks(flat)
        used = p.uses[action_type]
    stages = {
        "prepare observation": lambda: p._prepare(obs),
        "entity encoder": lambda: torso_mod.entity_encoder.encode(flat["entities"], flat["entity_mask"]),
        "spatial encoder": lambda: torso_mod.spatial_encoder(flat["spatial"]),
        "torso (all encoders + fusion)": lambda: torso_mod(flat, lead, None),
        "heads stage 1 (action type, value)": lambda: p.heads.stage1(torso),
        "heads stage 2 (argument features)": lambda: p.heads.stage2(torso, stage1, condition),
        "argument heads (autoregressive)": lambda: p.arguments(features, ar, used, masks, None, False),
        ACTION: lambda: p.act(obs),
        EAGER: lambda: p(obs),
    }
    # FLOPs counted with autograd on (FlopCounterMode's module hooks fail on a parameter's view made under
    # inference mode, and see no module inside a trace); the full action counted through forward(), the same
    # operations as act().
    flops = {name: count_flops(fn) for name, fn in dict(stages, **{ACTION: lambda: p(obs)}).items()}
    with torch.inference_mode():
        wall = time_interleaved(stages, repeats=repeats, warmup=2)
        cpu = time_interleaved(stages, repeats=repeats, warmup=0, clock=time.process_time)
    return [
        dict(
            stage=k,
            mflop=flops[k] / 1e6,
            wall_ms=1e3 * wall[k],
            cpu_ms=1e3 * cpu[k],
            gflop_cpu_s=flops[k] / cpu[k] / 1e9,
        )
        for k in stages
    ]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", metavar="REV", help="git revision to time against, interleaved")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    obs_spec, act_spec = specs(ACT["entities"], ACT["size"], ACT["selected"])
    obs = observation(obs_spec, 1)
    policy = AlphaStarPolicy(obs_spec, act_spec, PolicyConfig()).eval()
    peak = sgemm_peak_flops()
    rows = breakdown(policy, obs, args.repeats)
    result = {"benchmark": "act_latency", "sgemm_peak_gflop_s": peak / 1e9}
    for r in rows:
        result.update({f"{k}[{r['stage']}]": r[k] for k in ("mflop", "wall_ms", "cpu_ms")})
    print(f"sgemm peak {peak / 1e9:.1f} GFLOP/s; one sampled action, batch 1, {ACT['entities']} entities, "
          f"{ACT['size']}x{ACT['size']} map, {ACT['selected']} selection steps")  # fmt: skip
    print_table(rows)
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            old, old_obs = baseline_policy(args.baseline, Path(tmp))

            def forward_old():
                with torch.inference_mode():
                    old(old_obs)

            # A revision with a rollout path (``act``) is timed through it, an older one through its forward.
            if hasattr(old, "act"):
                old_name, act_old = f"{args.baseline} policy.act(obs)", lambda: old.act(old_obs)
            else:
                old_name, act_old = f"{args.baseline} policy(obs)", forward_old
            fns = {old_name: act_old, "working tree policy.act(obs)": lambda: policy.act(obs)}
            flops = dict(zip(fns, (count_flops(lambda: old(old_obs)), count_flops(lambda: policy(obs)))))
            wall = time_interleaved(fns, repeats=args.repeats, warmup=2)
            cpu = time_interleaved(fns, repeats=args.repeats, warmup=0, clock=time.process_time)
        cmp_rows = [dict(policy=k, mflop=flops[k] / 1e6, wall_ms=1e3 * wall[k], cpu_ms=1e3 * cpu[k]) for k in fns]
        print(f"\nagainst {args.baseline}, interleaved in one process")
        print_table(cmp_rows)
        (b, w) = fns
        result.update(baseline=args.baseline, act_ms_baseline=1e3 * wall[b], act_ms=1e3 * wall[w],
                      act_cpu_ms_baseline=1e3 * cpu[b], act_cpu_ms=1e3 * cpu[w],
                      mflop_baseline=flops[b] / 1e6, mflop=flops[w] / 1e6)  # fmt: skip
    print_json(result)
    return result


if __name__ == "__main__":
    main()
