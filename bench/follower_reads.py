"""X user reads (the follower count, GET /2/users/me, $0.010 each) per post in a simulated run.

The in-memory X's `get_followers_count` is wrapped with a counter, then one memory-backend run of
the loop; prints the reads, the reads per post and the days they fell on.

    export PYTHONPATH=$PWD/layers/core/python:$PWD/layers/local/python:$PWD:$PWD/infra
    .venv/bin/python bench/follower_reads.py --scenario growth --seed 1 --days 30
"""
from __future__ import annotations

import argparse

from postloop.core.spend import X_USER_READ_USD
from postloop_local import memory, simulate
from postloop_local.scenario import load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="growth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    reads: list = []
    original = memory.DirectX.get_followers_count

    def counted(self):
        reads.append(self.clock())
        return original(self)

    memory.DirectX.get_followers_count = counted
    r = simulate.run(load_scenario(args.scenario), days=args.days, seed=args.seed, backend="memory")
    posts = max(len(r.posts), 1)
    print(f"{args.scenario} seed {args.seed}, {args.days} days: {len(r.posts)} posts, {len(reads)} user reads "
          f"on {len({t.date() for t in reads})} days: {len(reads) / posts:.3f} a post, "
          f"${len(reads) * X_USER_READ_USD / posts:.4f} a post")


if __name__ == "__main__":
    main()
