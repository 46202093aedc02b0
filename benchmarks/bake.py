"""How much a bake costs beyond validating its stacks.

Times `cookiecutter --no-input` of the default site (both hooks included) and `cfn-lint` alone on
the same generated templates, alternately in one run so machine noise hits both alike, and prints
the medians and their ratio. Target: bake / cfn-lint <= 1.3.

    .venv/bin/python benchmarks/bake.py [--rounds 7]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command, **kwargs):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds

    with tempfile.TemporaryDirectory() as scratch:
        bake_times, lint_times = [], []
        for index in range(rounds):
            output = Path(scratch, f"bake{index}")
            bake_times.append(
                timed([BIN / "cookiecutter", TEMPLATE, "--no-input", "--output-dir", output])
            )
            templates = sorted(output.glob("*/cloudformation/*.yaml"))
            if not templates:
                sys.exit("the default bake has no CloudFormation templates to compare against")
            lint_times.append(timed([BIN / "cfn-lint", *templates, "--regions", "eu-west-1"]))

    bake, lint = statistics.median(bake_times), statistics.median(lint_times)
    print(f"templates linted:          {len(templates)} ({', '.join(t.name for t in templates)})")
    print(
        f"cookiecutter bake, median: {bake:.2f} s over {rounds} rounds (hooks and cfn-lint included)"
    )
    print(f"cfn-lint alone, median:    {lint:.2f} s over {rounds} rounds")
    print(f"ratio bake / cfn-lint:     {bake / lint:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
