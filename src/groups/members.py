"""What a group is made of: its members (seed x fold), their configs, hash and tags.

The tag contract here is read by `src.compare` and by tuning with repeats; keep it stable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from src.config.train import MAX_SEED, TrainConfig
from src.errors import UsageError

# Settings that change where or how a run is logged or shown, not what it learns: two configs
# differing only here belong to the same group (and a rerun with another tracking URI resumes it).
_NOT_HASHED = (
    "seed",
    "data.fold",
    "data.data_dir",
    "mlflow",
    "checkpoint_dir",
    "ckpt_path",
    "trainer.enable_progress_bar",
)


@dataclass(frozen=True)
class Member:
    """One run of a group."""

    seed: int
    fold: int | None  # None when folds are off

    @property
    def label(self) -> str:
        """Shown to users: "seed 3", "fold 2" or "seed 3, fold 2"."""
        parts = [f"seed {self.seed}"] if self.fold is None or self._seeded else []
        return ", ".join([*parts, *([f"fold {self.fold}"] if self.fold is not None else [])])

    # A fold-only group still has a seed (the config's); the label leaves it out unless the group
    # varies seeds too, which expand_members records here.
    _seeded: bool = dataclasses.field(default=True, compare=False, repr=False)


def parse_seeds(text: str, base_seed: int) -> list[int]:
    """`--seeds` -> the seeds: "5" means 5 seeds counting up from the config's seed
    (base_seed, base_seed + 1, ...); "1,2,7" means exactly those."""
    allowed = "a count >= 1 (e.g. 5) or a comma-separated list of distinct seeds (e.g. 1,2,7)"
    words = [word.strip() for word in text.split(",")]
    if not all(word.isdigit() for word in words):
        raise UsageError(f"--seeds {text}: expected {allowed}")
    numbers = [int(word) for word in words]
    if len(numbers) == 1:
        count = numbers[0]
        if count < 1:
            raise UsageError(f"--seeds {text}: expected {allowed}")
        if base_seed + count - 1 > MAX_SEED:
            raise UsageError(f"--seeds {text}: seeds from {base_seed} would pass {MAX_SEED}")
        return list(range(base_seed, base_seed + count))
    if len(set(numbers)) != len(numbers):
        raise UsageError(f"--seeds {text}: a seed repeats; expected {allowed}")
    if max(numbers) > MAX_SEED:
        raise UsageError(f"--seeds {text}: seeds must be in [0, {MAX_SEED}]")
    return numbers


def expand_members(seeds: list[int] | None, folds: int, base_seed: int) -> list[Member]:
    """Every seed with every fold (seed-major); seeds None means the config's seed only, folds 0
    means no folds."""
    seeded = seeds is not None
    seed_list = seeds if seeds is not None else [base_seed]
    fold_list: list[int | None] = list(range(folds)) if folds else [None]
    return [Member(seed, fold, _seeded=seeded) for seed in seed_list for fold in fold_list]


def member_config(cfg: TrainConfig, member: Member) -> TrainConfig:
    """The group's config with this member's seed and validation fold."""
    data = cfg.data
    if member.fold is not None:
        if data.folds < 2:
            raise UsageError(f"{member.label}: needs data.folds >= 2, the config has {data.folds}")
        data = dataclasses.replace(data, fold=member.fold)
    return dataclasses.replace(cfg, seed=member.seed, data=data)


def _resolved(cfg: TrainConfig) -> dict:
    flat: dict = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if name in _NOT_HASHED:
                continue
            if isinstance(value, dict):
                walk(value, f"{name}.")
            else:
                flat[name] = value

    walk(dataclasses.asdict(cfg), "")
    return flat


def config_hash(cfg: TrainConfig) -> str:
    """12 hex digits naming what a group's runs learn: the resolved config without the seed, the
    fold and the settings that only say where things are logged or shown. Stable across
    processes and Python versions (sorted JSON, SHA-1)."""
    text = json.dumps(_resolved(cfg), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def describe_members(members: list[Member]) -> str:
    """The parent's `group_members` tag: "seeds 0-4", "seeds 1,2,7", "5 folds",
    "seeds 0-2 x 5 folds". Part of the resume key, so it names the member set exactly."""
    seeds = sorted({m.seed for m in members})
    folds = sorted({m.fold for m in members if m.fold is not None})
    parts = []
    if not members or members[0]._seeded:
        consecutive = seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1
        text = f"{seeds[0]}-{seeds[-1]}" if consecutive else ",".join(map(str, seeds))
        parts.append(f"seeds {text}" if len(seeds) > 1 else f"seed {text}")
    if folds:
        parts.append(f"{len(folds)} folds")
    return " x ".join(parts)


def member_tags(parent_run_id: str, cfg: TrainConfig, member: Member) -> dict[str, str]:
    """The tags that make a training run a member of the group whose parent run is given."""
    tags = {
        "group_role": "member",
        "group_id": parent_run_id,
        "config_hash": config_hash(cfg),
        "seed": str(member.seed),
    }
    if member.fold is not None:
        tags["fold"] = str(member.fold)
    return tags


def plan_group(
    cfg: TrainConfig, seeds: str | None, folds: int | None
) -> tuple[TrainConfig, list[Member]]:
    """`--seeds TEXT` and `--folds K` -> the group's config (data.folds = K) and its members."""
    if folds is not None:
        if folds < 2:
            raise UsageError(f"--folds {folds}: expected an int >= 2 (k-fold cross-validation)")
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, folds=folds, fold=0))
    seed_list = parse_seeds(seeds, cfg.seed) if seeds is not None else None
    return cfg, expand_members(seed_list, folds or 0, cfg.seed)
