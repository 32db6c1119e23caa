"""AlphaStar-style policy: Perceiver vs transformer entity encoder, act latency, learner throughput.

All in one run, 1 thread by default:

1. entity encoders (AlphaStar sizes: D=256, 3 layers, 2 heads x 128, the transformer's MLP 1024; Perceiver:
   32 latents, Perceiver IO's MLP widening 1, the encoders' defaults),
   46 features per entity: forward FLOPs per sample at 512 entities (``perceiver_rl.flops.count_flops``),
   forward+backward wall clock at 512 and 4096 entities, the four timed interleaved;
2. act latency: batch 1, 512 entities, 64x64 map, one full autoregressive action (sampled, ``policy.act``:
   the rollout path RLlib's EnvRunners and evaluation run, a jit trace of the pass recorded on its first call,
   in the warm-up), per encoder x heads combination (+ a lean Perceiver with D=128); where it goes:
   ``bench/act_latency.py``;
3. learner forward+backward (teacher-forced PPO-style loss) samples/s at batch 512 (``--quick``: 128) on
   the SC2 minigame contract sizes (32 entities, 64x64 map, 4 selection steps).

    python bench/policy.py [--quick] [--threads 1]

Prints tables, then one JSON line (last).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import print_json, print_table, sgemm_peak_flops, time_interleaved

from agents.nets.encoders import EntityEncoderConfig, build_entity_encoder
from agents.nets.policy import AlphaStarPolicy, PolicyConfig
from envs.spec import ActionSpec, ActionType, ObservationSpec
from perceiver_rl.flops import count_flops

ENTITY_FEATURES = 46
TYPES = (
    ActionType("no_op"),
    ActionType("move", queued=True, selected_units=True, location=True),
    ActionType("attack_unit", queued=True, selected_units=True, target_unit=True),
    ActionType("stop", queued=True, selected_units=True),
)
ACT = dict(entities=512, size=64, selected=8)
LEARN = dict(entities=32, size=64, selected=4, batch=512)
COMBOS = {
    "perceiver+queries": PolicyConfig(encoder="perceiver", heads="queries"),
    "perceiver+mlp": PolicyConfig(encoder="perceiver", heads="mlp"),
    "transformer+queries": PolicyConfig(encoder="transformer", heads="queries"),
    "transformer+mlp": PolicyConfig(encoder="transformer", heads="mlp"),
    "perceiver+queries D=128": PolicyConfig(
        encoder="perceiver", heads="queries", entity_encoder=EntityEncoderConfig(channels=128)
    ),
}


def specs(entities: int, size: int, selected: int) -> tuple[ObservationSpec, ActionSpec]:
    obs = ObservationSpec(
        max_entities=entities, entity_features=ENTITY_FEATURES, spatial_channels=4, spatial_size=(size, size),
        num_scalars=8, num_action_types=len(TYPES), has_location_mask=True,
    )  # fmt: skip
    return obs, ActionSpec(TYPES, max_entities=entities, max_selected=selected, spatial_size=(size, size))


def observation(spec: ObservationSpec, batch: int) -> dict[str, torch.Tensor]:
    """Every entity real, selectable and targetable; only unit-taking action types legal (full action)."""
    n, (h, w), (ph, pw) = spec.max_entities, spec.spatial_size, spec.plane_size
    ones = torch.ones(batch, n, dtype=torch.bool)
    at_mask = torch.tensor([t.selected_units for t in TYPES]).expand(batch, -1)
    return {
        "entities": torch.randn(batch, n, spec.entity_features),
        "entity_mask": ones,
        "selectable_mask": ones,
        "targetable_mask": ones,
        "spatial": torch.randn(batch, spec.spatial_channels, ph, pw),
        "scalars": torch.randn(batch, spec.num_scalars),
        "action_type_mask": at_mask,
        "location_mask": torch.ones(batch, h, w, dtype=torch.bool),
    }


def encoder_section(batch: int, repeats: int) -> tuple[list[dict], dict]:
    cfg = EntityEncoderConfig()
    encoders = {name: build_entity_encoder(name, ENTITY_FEATURES, cfg) for name in ("perceiver", "transformer")}
    flops = {}
    for name, enc in encoders.items():
        x, m = torch.randn(1, 512, ENTITY_FEATURES), torch.ones(1, 512, dtype=torch.bool)
        flops[name] = count_flops(lambda enc=enc, x=x, m=m: enc(x, m))

    def step(enc, n):
        x, m = torch.randn(batch, n, ENTITY_FEATURES), torch.ones(batch, n, dtype=torch.bool)

        def run():
            per_entity, pooled = enc(x, m)
            (per_entity.mean() + pooled.mean()).backward()

        return run

    fns = {(name, n): step(enc, n) for n in (512, 4096) for name, enc in encoders.items()}
    secs = time_interleaved(fns, repeats=repeats)
    rows = [
        dict(
            encoder=name,
            gflop_fwd_512=flops[name] / 1e9,
            ms_fb_512=1e3 * secs[(name, 512)],
            ms_fb_4096=1e3 * secs[(name, 4096)],
            growth=secs[(name, 4096)] / secs[(name, 512)],
        )
        for name in encoders
    ]
    result = {
        "gflop_perceiver_512": flops["perceiver"] / 1e9,
        "gflop_transformer_512": flops["transformer"] / 1e9,
        "flops_ratio_512": flops["transformer"] / flops["perceiver"],
        "speedup_512": secs[("transformer", 512)] / secs[("perceiver", 512)],
        "speedup_4096": secs[("transformer", 4096)] / secs[("perceiver", 4096)],
        "growth_512_4096_perceiver": secs[("perceiver", 4096)] / secs[("perceiver", 512)],
        "growth_512_4096_transformer": secs[("transformer", 4096)] / secs[("transformer", 512)],
        "encoder_batch": batch,
    }
    return rows, result


def act_section(combos: dict[str, PolicyConfig], repeats: int) -> tuple[list[dict], dict]:
    obs_spec, act_spec = specs(ACT["entities"], ACT["size"], ACT["selected"])
    obs = observation(obs_spec, 1)
    fns = {}
    for name, cfg in combos.items():
        policy = AlphaStarPolicy(obs_spec, act_spec, cfg).eval()
        fns[name] = lambda policy=policy: policy.act(obs)  # the rollout path (what RLlib's EnvRunners call)
    secs = time_interleaved(fns, repeats=repeats, warmup=2)
    rows = [dict(policy=name, act_ms=1e3 * s) for name, s in secs.items()]
    return rows, {f"act_ms[{name}]": 1e3 * s for name, s in secs.items()}


def learner_section(combos: dict[str, PolicyConfig], b: int, repeats: int) -> tuple[list[dict], dict]:
    obs_spec, act_spec = specs(LEARN["entities"], LEARN["size"], LEARN["selected"])
    obs = observation(obs_spec, b)
    fns = {}
    for name, cfg in combos.items():
        policy = AlphaStarPolicy(obs_spec, act_spec, cfg)
        with torch.no_grad():
            actions = policy(obs).actions
        advantages = torch.randn(b)

        def learn(policy=policy, actions=actions, advantages=advantages):
            out = policy(obs, actions=actions)
            loss = -(out.logp * advantages).mean() + out.value.pow(2).mean() - 0.01 * out.entropy.mean()
            loss.backward()

        fns[name] = learn
    secs = time_interleaved(fns, repeats=repeats)
    rows = [dict(policy=name, ms=1e3 * s, samples_per_s=b / s) for name, s in secs.items()]
    return rows, {f"learner_samples_per_s[{name}]": b / s for name, s in secs.items()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and combinations, < 60 s")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    quick = args.quick
    enc_batch, enc_repeats = (1, 2) if quick else (4, 5)
    quick_act = ("perceiver+queries", "transformer+mlp", "perceiver+queries D=128")
    act_combos = {k: COMBOS[k] for k in quick_act} if quick else COMBOS
    learn_combos = {k: COMBOS[k] for k in ("perceiver+queries", "transformer+mlp")} if quick else dict(COMBOS)
    learn_combos.pop("perceiver+queries D=128", None)
    learn_batch = 128 if quick else LEARN["batch"]

    peak = sgemm_peak_flops()
    enc_rows, enc = encoder_section(enc_batch, enc_repeats)
    act_rows, act = act_section(act_combos, 10 if quick else 30)
    learn_rows, learn = learner_section(learn_combos, learn_batch, 1 if quick else 3)

    print(f"threads={args.threads}  sgemm peak {peak / 1e9:.1f} GFLOP/s  quick={quick}")
    print(f"\nentity encoders, forward+backward at batch {enc_batch}, FLOPs forward per sample at 512 entities")
    print_table(enc_rows)
    print(f"\nact latency: batch 1, {ACT['entities']} entities, {ACT['size']}x{ACT['size']} map, "
          f"{ACT['selected']} selection steps, one sampled action")  # fmt: skip
    print_table(act_rows)
    size = f"{LEARN['size']}x{LEARN['size']}"
    print(f"\nlearner forward+backward, batch {learn_batch}, {LEARN['entities']} entities, {size} map")
    print_table(learn_rows)
    result = {
        "benchmark": "alphastar_policy",
        "quick": quick,
        "threads": args.threads,
        "sgemm_peak_gflop_s": peak / 1e9,
        **enc,
        "act_latency_ms": act["act_ms[perceiver+queries]"],
        "act_latency_ms_transformer_mlp": act["act_ms[transformer+mlp]"],
        "act_latency_ms_lean_d128": act["act_ms[perceiver+queries D=128]"],
        **act,
        "learner_batch": learn_batch,
        "learner_samples_per_s": learn["learner_samples_per_s[perceiver+queries]"],
        **learn,
    }
    print_json(result)
    return result


if __name__ == "__main__":
    main()
