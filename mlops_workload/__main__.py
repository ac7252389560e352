"""`python -m mlops_workload generate|train|baseline`: the reference workload as a command.

Exit codes: 0 done, 1 the quality gate rejected the model, 2 bad input. This command line is the
contract a product team's own workload package keeps (README, "Bring your own workload").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlops_workload import baseline, data, evaluate, package, pipeline, prepare


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_workload", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write a synthetic data set (CSV)")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--rows", type=int, default=2000)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--shift", type=float, default=0.0, help="0 = training population, 1 = drifted")
    fit = commands.add_parser("train", help="prepare, train, evaluate, write the baseline and packages")
    fit.add_argument("--out", type=Path, required=True, help="output folder")
    fit.add_argument("--data", type=Path, help="training CSV; synthetic data when omitted")
    fit.add_argument("--rows", type=int, default=2000)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--shift", type=float, default=0.0)
    fit.add_argument("--min-auc", type=float, default=evaluate.DEFAULT_MIN_AUC)
    fit.add_argument("--targets", default=",".join(package.CLOUDS), help="serving layouts to package")
    base = commands.add_parser("baseline", help="write baseline.json for a CSV data set")
    base.add_argument("--data", type=Path, required=True)
    base.add_argument("--out", type=Path, required=True, help="folder to write baseline.json into")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            data.write_csv(data.generate(args.rows, seed=args.seed, shift=args.shift), args.out)
            print(args.out)
        elif args.command == "train":
            targets = tuple(t for t in args.targets.split(",") if t)
            unknown = [t for t in targets if t not in package.CLOUDS]
            if unknown:
                raise ValueError(f"--targets: unknown {', '.join(unknown)}; expected {', '.join(package.CLOUDS)}")
            result = pipeline.run(
                args.out,
                data_path=args.data,
                rows=args.rows,
                seed=args.seed,
                shift=args.shift,
                min_auc=args.min_auc,
                targets=targets,
            )
            print(
                json.dumps(
                    {
                        "model": str(result.model_path),
                        "baseline": str(result.baseline_path),
                        "metrics": result.metrics,
                        "packages": {k: str(v) for k, v in result.packages.items()},
                    },
                    indent=2,
                )
            )
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            print(baseline.write(baseline.compute(prepare.read_csv(args.data)), args.out))
    except evaluate.QualityGateFailed as exc:
        print(f"quality gate: {exc}", file=sys.stderr)
        return 1
    except (prepare.DataError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
