"""`python -m instructembed.train --config FILE.toml [--resume] [--instructions off] [--set key=value ...]`

The same as `instructembed train`, without loading the rest of the CLI (for bare GPU machines).
"""

from __future__ import annotations

import argparse
import logging
import sys

from instructembed.errors import InstructEmbedError
from instructembed.train import load_config, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructembed.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", "-c", required=True, help="TOML file of TrainConfig keys (see configs/)")
    parser.add_argument("--resume", action="store_true", help="continue the run in output_dir from its checkpoint")
    parser.add_argument("--instructions", choices=["on", "off"], help="'off' strips every instruction (ablation)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = list(args.set) + ([f"instructions={args.instructions}"] if args.instructions else [])
    try:
        result = train(load_config(args.config, overrides), resume=args.resume, show_progress=not args.quiet)
    except InstructEmbedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"trained {result.steps} steps in {result.elapsed_s:.0f} s -> {result.output_dir / 'final'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
